from django import template
from django.utils.translation import gettext

from quality import content
from quality.instructions import render_instruction
from quality.spc import RULES

register = template.Library()


@register.filter
def instruction(version):
    """`{{ version|instruction }}`: an SOP version's text as cleaned HTML, in the reader's language
    where it is translated."""
    return render_instruction(version, body=content.in_language(version, "body"))


@register.filter
def spc_rule(rule: int) -> str:
    """`{{ signal.rule|spc_rule }}`: a Western Electric rule in words, in the reader's language."""
    return gettext(RULES[rule]) if rule in RULES else ""


@register.filter
def in_language(record, name: str) -> str:
    """`{{ item|in_language:"prompt" }}`: plant content in the reader's language, else the site's."""
    return content.in_language(record, name)


@register.simple_tag
def content_languages() -> list[tuple[str, str]]:
    """`{% content_languages as languages %}`: the languages content is translated into."""
    return content.content_languages()


@register.simple_tag
def translation(record, code: str, name: str) -> str:
    """`{% translation item "de" "prompt" as text %}`: one stored translation, blank if none."""
    return ((getattr(record, "translations", None) or {}).get(code) or {}).get(name, "")
