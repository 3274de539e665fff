"""The offered languages, each by its own name (settings.LANGUAGES), for the language switches.

Django's `get_available_languages` passes the names through gettext, so "English" on a German
screen would read "Englisch": a person looks for their language by the name they know it by.
"""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext

register = template.Library()


@register.simple_tag
def offered_languages() -> list[tuple[str, str]]:
    """(code, own name) of every offered language, in the switch's order."""
    return list(settings.LANGUAGES)


@register.filter
def language_name(code: str) -> str:
    """The offered language's own name ("Deutsch" for "de"); the code itself when not offered."""
    return dict(settings.LANGUAGES).get(code, code)


@register.simple_tag
def decimal_separator() -> str:
    """The active language's decimal separator: the keypad's decimal key types it."""
    return formats.get_format("DECIMAL_SEPARATOR")


@register.filter
def in_language(text: str) -> str:
    """A text stored as the system wrote it (a history reason such as "Checklist created") in the
    reader's language where the catalogs know it; anything a person typed reads as typed. The
    stored text itself is unchanged: exports and the API give it as stored."""
    return gettext(text) if text else text
