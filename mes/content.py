"""Plant content in several languages: a checklist item's prompt, help and options, an SOP
version's text, a checklist's or an SOP's title, a reason code's name.

The plain fields (`prompt`, `help_text`, `choices`, `body`, `title`, `name`) hold the text in the site's default
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


def posted_translations(post, limits: dict) -> dict:
    """The translations typed in a form, one field per text and language (`prompt_de`); a list of
    texts (an item's options) is typed one a line."""
    typed = {}
    for code, _n in content_languages():
        typed[code] = {}
        for name, limit in limits.items():
            text = post.get(f"{name}_{code}", "")
            typed[code][name] = (
                [line for line in text.splitlines() if line.strip()] if _is_list(limit) else text
            )
    return typed


def _is_list(limit) -> bool:
    return isinstance(limit, list)


def clean_translations(value, limits: dict[str, int | list[int]]) -> dict:
    """Translations as stored: known languages and texts only, blanks left out (the default
    language's text stands in for them), each text within its field's length. A limit written
    `[n]` is a list of texts (an item's options), each at most n long."""
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
            limit = limits.get(name)
            as_list = _is_list(limit)
            parts = text if as_list else [text]
            if limit is None or not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
                raise ValidationFailed(
                    _("%(text)s cannot be translated.") % {"text": name}, field="translations", code="invalid"
                )
            longest = limit[0] if as_list else limit
            parts = [part.strip() for part in parts]
            if any(len(part) > longest for part in parts):
                raise ValidationFailed(
                    _("At most %(count)s characters.") % {"count": longest},
                    field=f"{name}_{code}",
                    code="too_long",
                )
            if any(parts):
                cleaned.setdefault(code, {})[name] = parts if as_list else parts[0]
    return cleaned


def options_in_language(record, name: str = "choices", language: str | None = None) -> list[tuple[str, str]]:
    """An item's options as (value, label): the value is the default language's option (what is
    stored when it is chosen), the label the reader's, where every option is translated."""
    options = getattr(record, name)
    code = (language or get_language() or "").split("-")[0]
    labels = (getattr(record, "translations", None) or {}).get(code, {}).get(name)
    if not labels or len(labels) != len(options):
        labels = options
    return list(zip(options, labels, strict=True))
