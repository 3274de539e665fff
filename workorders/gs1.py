"""GS1 identifiers: GTIN check digits (GS1 General Specifications §7.9), the element strings of
lot and serial labels, and reading them back from a scan."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from mes.errors import ValidationFailed
from workorders.states import LotKind


def gs1_check_digit(digits: str) -> int:
    """The mod-10 check digit GS1 appends to a number (weights 3 and 1 from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def validate_gtin(value: str) -> None:
    """A GTIN-8, -12, -13 or -14 with a correct check digit."""
    if not (value.isascii() and value.isdigit()) or len(value) not in (8, 12, 13, 14):  # '²' is a digit
        raise ValidationError(_("A GTIN has 8, 12, 13 or 14 digits."), code="gtin_format")
    if gs1_check_digit(value[:-1]) != int(value[-1]):
        raise ValidationError(_("The GTIN's check digit is wrong."), code="gtin_check_digit")


# --- element strings of lots and serial units (GS1 General Specifications §3, §7.8) ------------

# FNC1 as reportlab's Code128 reads it: in first position it makes the symbol a GS1-128; inside
# the data it ends a variable-length field (the role GS plays in a GS1 DataMatrix).
FNC1 = "\xf1"
GS = "\x1d"
# GS1 AI encodable character set 82, at most 20 characters, for batch/lot (10) and serial (21).
_AI82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
# The AIs a scan of our labels or a supplier's may hold: fixed lengths, or variable (None).
_AI_LENGTHS = {
    "00": 18, "01": 14, "02": 14, "11": 6, "12": 6, "13": 6, "15": 6, "16": 6, "17": 6, "20": 2,
    "10": None, "21": None, "22": None, "30": None, "37": None, "240": None, "241": None,
}  # fmt: skip
_SYMBOLOGY_ID = re.compile(r"^\][A-Za-z][0-9]")


def gtin14(gtin: str) -> str:
    return gtin.rjust(14, "0")


def element_fields(lot) -> list[tuple[str, str]]:
    """The (AI, value) pairs of a lot's or serial's label: GTIN (01), production date (11) in the
    site's zone, then lot (10) or serial (21), last because it is of variable length."""
    product = lot.product
    if not product.gtin:
        raise ValidationFailed(
            _("%(part_number)s has no GTIN: give it one to print GS1 labels.")
            % {"part_number": product.part_number},
            field="gtin",
            code="no_gtin",
        )
    if not _AI82.fullmatch(lot.code):
        raise ValidationFailed(
            _(
                "%(code)s cannot be carried in a GS1 barcode (at most 20 letters, digits and -./ and the like)."
            )
            % {"code": lot.code},
            field="code",
            code="not_gs1_encodable",
        )
    produced = lot.produced_at.astimezone(lot.site.tzinfo).strftime("%y%m%d")
    return [
        ("01", gtin14(product.gtin)),
        ("11", produced),
        ("21" if lot.kind == LotKind.SERIAL else "10", lot.code),
    ]


def element_string(lot, *, raw: bool = False) -> str:
    """The GS1 element string of a lot or serial unit: human-readable `(01)…(11)…(10|21)…`, or
    with `raw` the barcode's data: FNC1 first, no brackets (no separator needed: the only
    variable-length field comes last)."""
    fields = element_fields(lot)
    if raw:
        return FNC1 + "".join(ai + value for ai, value in fields)
    return "".join(f"({ai}){value}" for ai, value in fields)


def _parse_bracketed(text: str) -> dict[str, str]:
    return {ai: value for ai, value in re.findall(r"\((\d{2,4})\)([^(]*)", text)}


def _parse_raw(text: str) -> dict[str, str] | None:
    found: dict[str, str] = {}
    i = 0
    while i < len(text):
        if text[i] in (GS, FNC1):
            i += 1
            continue
        ai = next((a for a in (text[i : i + 2], text[i : i + 3]) if a in _AI_LENGTHS), None)
        if ai is None:
            return None
        i += len(ai)
        length = _AI_LENGTHS[ai]
        if length is None:
            end = min((j for j in (text.find(GS, i), text.find(FNC1, i)) if j >= 0), default=len(text))
        else:
            end = i + length
            if end > len(text):
                return None
        found[ai] = text[i:end]
        i = end
    return found


def code_from_scan(scanned: str) -> str:
    """The lot or serial code in what a scanner typed: a GS1 element string (bracketed, or raw
    with FNC1/GS separators and an optional symbology identifier such as `]d2` or `]C1`) gives its
    serial (21) or lot (10); anything else is taken as the code itself."""
    text = (scanned or "").strip()
    gs1_like = False
    if _SYMBOLOGY_ID.match(text):
        text, gs1_like = text[3:], True
    if text.startswith("("):
        fields = _parse_bracketed(text)
    elif gs1_like or text[:1] in (GS, FNC1) or GS in text or re.match(r"01\d{14}", text):
        fields = _parse_raw(text) or {}
    else:
        fields = {}
    return (fields.get("21") or fields.get("10") or text).strip()
