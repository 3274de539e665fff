"""Template tags for plant content that carries translations (see `mes.content`)."""

from django import template

from mes import content

register = template.Library()


@register.filter
def translated(record, name: str) -> str:
    """`{{ item|translated:"prompt" }}`: plant content in the reader's language, else the site's."""
    return content.in_language(record, name)


@register.filter
def translated_options(record) -> list[tuple[str, str]]:
    """`{% for value, label in item|translated_options %}`: an item's options, each with its label
    in the reader's language."""
    return content.options_in_language(record)


@register.simple_tag
def content_languages() -> list[tuple[str, str]]:
    """`{% content_languages as languages %}`: the languages content is translated into."""
    return content.content_languages()


@register.simple_tag
def translation(record, code: str, name: str) -> str:
    """`{% translation item "de" "prompt" as text %}`: one stored translation, blank if none."""
    return ((getattr(record, "translations", None) or {}).get(code) or {}).get(name, "")
