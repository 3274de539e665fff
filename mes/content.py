"""Plant content in several languages: a checklist item's prompt and help, an SOP version's text,
a reason code's name.

The plain fields (`prompt`, `help_text`, `body`, `name`) hold the text in the site's default
language (settings.LANGUAGE_CODE); a `translations` field holds the other languages,
`{"de": {"prompt": ...}}`. A reader sees their language's text where there is one, else the
default language's. Versioned content keeps its translations in the version: an approval signs
them with the rest of its content, and a new draft version carries them over.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from mes.errors import ValidationFailed


def content_languages() -> list[tuple[str, str]]:
    """The languages plant content is written in besides the site's default: (code, name)."""
    default = settings.LANGUAGE_CODE.split("-")[0]
    return [(code, name) for code, name in settings.LANGUAGES if code != default]


def in_language(record, name: str, language: str | None = None) -> str:
    """`record.<name>` in `language` (the active one by default), else in the default language."""
    return text_in_language(getattr(record, name), getattr(record, "translations", None), name, language)


def text_in_language(text: str, translations: dict | None, name: str, language: str | None = None) -> str:
    """The same for a row read as values: the default language's `text` and its `translations`."""
    code = (language or get_language() or "").split("-")[0]
    return (translations or {}).get(code, {}).get(name, "") or text


def posted_translations(post, names) -> dict:
    """The translations typed in a form, one field per text and language (`prompt_de`)."""
    return {
        code: {name: post.get(f"{name}_{code}", "") for name in names} for code, _n in content_languages()
    }


def clean_translations(value, limits: dict[str, int]) -> dict:
    """Translations as stored: known languages and texts only, blanks left out (the default
    language's text stands in for them), each text within its field's length."""
    if not isinstance(value, dict):
        raise ValidationFailed(
            _("Translations are a text per language."), field="translations", code="invalid"
        )
    offered = {code for code, _n in content_languages()}
    cleaned: dict = {}
    for code, texts in value.items():
        if code not in offered or not isinstance(texts, dict):
            raise ValidationFailed(
                _("%(language)s is not a language of this site.") % {"language": code},
                field="translations",
                code="unknown_language",
            )
        for name, text in texts.items():
            if name not in limits or not isinstance(text, str):
                raise ValidationFailed(
                    _("%(text)s cannot be translated.") % {"text": name}, field="translations", code="invalid"
                )
            text = text.strip()
            if len(text) > limits[name]:
                raise ValidationFailed(
                    _("At most %(count)s characters.") % {"count": limits[name]},
                    field=f"{name}_{code}",
                    code="too_long",
                )
            if text:
                cleaned.setdefault(code, {})[name] = text
    return cleaned
