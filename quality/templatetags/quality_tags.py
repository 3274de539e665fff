from django import template
from django.utils.translation import gettext

from mes import content
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
