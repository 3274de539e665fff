"""The API's request parsers: DRF's JSON, form and multipart parsers, refusing what no field of ours
can hold.

A body is refused with 400, naming where in it the fault is, when it is:
- JSON nested deeper than `MAX_DEPTH` levels (ten thousand levels made the decoder raise
  RecursionError, a 500; no record of ours is more than a few levels deep);
- a text (JSON string or key, form field or name) holding a NUL character, which PostgreSQL
  refuses in every text column, or a JSON string escaping half a surrogate pair (`"\ud800"`),
  which no database can store as UTF-8;
- a JSON number outside what the database stores: an integer past 64 bits, or one so large it
  reads as infinity.

The refusal is a `BodyRefused`, a DRF validation error, so it answers in the API's error format
with `errors` naming the field (`answers.item_12`, `records[3].data.name`; `body` for the body
as a whole).
"""

from __future__ import annotations

import math

from django.utils.translation import gettext
from rest_framework import parsers
from rest_framework.exceptions import ValidationError

MAX_DEPTH = 64
BIGINT = 2**63
NUL = "\x00"


class BodyRefused(ValidationError):
    """A request body the API refuses before any view reads it."""

    def __init__(self, field: str, reason: str):
        super().__init__({field: [reason]})
        self.field, self.reason = field, reason


def _path(parts: tuple) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def nul_refusal(field: str) -> str:
    return gettext("%(field)s contains a NUL character, which no text may hold.") % {"field": field}


def _text_fault(text: str) -> str | None:
    """Why `text` can't be stored, or None."""
    if NUL in text:
        return gettext("contains a NUL character, which no text may hold.")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return gettext("is not valid Unicode (half a surrogate pair).")
    return None


def check_json(data, *, max_depth: int = MAX_DEPTH) -> None:
    """Refuse (BodyRefused) a parsed JSON value nested too deep, with a NUL in a text, or with a
    number past what the database stores. Walks the value without recursion."""
    stack: list[tuple[object, int, tuple]] = [(data, 1, ())]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, str):
            if fault := _text_fault(value):
                raise BodyRefused(_path(where), f"{_path(where)} {fault}")
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not -BIGINT <= value < BIGINT:
                raise BodyRefused(_path(where), gettext("The number is too large."))
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise BodyRefused(_path(where), gettext("The number is too large."))
        elif isinstance(value, dict | list):
            if depth > max_depth:  # named by the field it sits in: the full path would be as deep
                field = where[0] if where and isinstance(where[0], str) else "body"
                raise BodyRefused(
                    field,
                    gettext("The body is nested deeper than %(max_depth)s levels.")
                    % {"max_depth": max_depth},
                )
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and (fault := _text_fault(key)):
                    raise BodyRefused(
                        _path(where),
                        gettext("A name in %(path)s %(fault)s") % {"path": _path(where), "fault": fault},
                    )
                stack.append((item, depth + 1, (*where, key)))


def check_form(data) -> None:
    """Refuse (BodyRefused) a form (a QueryDict) with a NUL in a field's name or value."""
    for name, values in data.lists():
        if NUL in name:
            raise BodyRefused(
                "body", gettext("A field name contains a NUL character, which no text may hold.")
            )
        for value in values:
            if isinstance(value, str) and NUL in value:
                raise BodyRefused(name, nul_refusal(name))


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise BodyRefused(
                "body",
                gettext("The body is nested deeper than %(MAX_DEPTH)s levels.") % {"MAX_DEPTH": MAX_DEPTH},
            ) from None
        check_json(data)
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        check_form(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    """Files may hold any bytes (a photo will hold NULs); their names and the text fields may not."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        check_form(parsed.data)
        for name, files in parsed.files.lists():
            if NUL in name or any(NUL in (f.name or "") for f in files):
                raise BodyRefused(name.replace(NUL, ""), gettext("A file name contains a NUL character."))
        return parsed
