"""Reading an ERP record's fields: each reader returns the value the MES uses or refuses with the
field's path (`lines[2].quantity`) and the reason, so the ERP is told exactly what to fix.

Readers take what JSON or the XML parser gives (text, numbers, lists, objects, true/false) and
never trust its type: a list where text belongs is a refusal, not a 500.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from mes.errors import ValidationFailed
from mes.models import Workstation
from workorders.models import Product


def required(data: dict, name: str, prefix: str = ""):
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationFailed(
            gettext("%(prefix)s%(name)s is required.") % {"prefix": prefix, "name": name},
            field=f"{prefix}{name}",
            code="required",
        )
    return value.strip() if isinstance(value, str) else value


def text(value, name: str) -> str:
    """A text field's value: text, or a number the ERP sent without quotes; a list, an object or
    true/false is refused (it reached `.strip()` as a 500 before)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    raise ValidationFailed(gettext("%(name)s must be text.") % {"name": name}, field=name, code="not_text")


def required_text(data: dict, name: str, prefix: str = "") -> str:
    return text(required(data, name, prefix), f"{prefix}{name}")


def optional_text(data: dict, name: str, prefix: str = "") -> str:
    value = data.get(name)
    return "" if value is None else text(value, f"{prefix}{name}")


def decimal(value, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(
            gettext("%(name)s must be a number, not %(value)s.") % {"name": name, "value": repr(value)},
            field=name,
            code="not_a_number",
        ) from None
    if not number.is_finite():
        raise ValidationFailed(
            gettext("%(name)s must be a number, not %(value)s.") % {"name": name, "value": repr(value)},
            field=name,
            code="not_a_number",
        )
    return number


def known_product(part_number: str, name: str = "material") -> Product:
    product = Product.objects.filter(part_number=part_number).first()
    if product is None:
        raise ValidationFailed(
            gettext("Unknown product %(part_number)s: send the product first.")
            % {"part_number": part_number},
            field=name,
            code="unknown_product",
        )
    return product


def due_time(value) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = parse_datetime(str(value))
    if parsed is None or parsed.tzinfo is None:
        raise ValidationFailed(
            gettext("due must be an ISO 8601 time with its time zone."), field="due", code="invalid_time"
        )
    return parsed


def known_workstation(code: str, name: str) -> Workstation:
    """A workstation by "LINE/STATION" or by a station code that is unique."""
    if "/" in code:
        line, station = code.split("/", 1)
        found = list(Workstation.objects.filter(line__code=line, code=station)[:2])
    else:
        found = list(Workstation.objects.filter(code=code)[:2])
    if len(found) != 1:
        reason = "is not known" if not found else "is ambiguous; name it LINE/STATION"
        raise ValidationFailed(
            gettext("Workstation %(code)s %(reason)s.") % {"code": code, "reason": reason},
            field=name,
            code="unknown_workstation",
        )
    return found[0]
