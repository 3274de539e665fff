"""Units of measure the ERP may send, and conversion into the unit of our master data.

Only units of one dimension convert (kg to g, m to mm, pieces to each); anything else is refused
with the field and the reason, never guessed.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext

from mes.errors import ValidationFailed

# unit: (dimension, factor to the dimension's base unit)
UNITS: dict[str, tuple[str, Decimal]] = {
    "pcs": ("count", Decimal(1)),
    "pc": ("count", Decimal(1)),
    "ea": ("count", Decimal(1)),
    "st": ("count", Decimal(1)),
    "kg": ("mass", Decimal(1)),
    "g": ("mass", Decimal("0.001")),
    "t": ("mass", Decimal(1000)),
    "m": ("length", Decimal(1)),
    "cm": ("length", Decimal("0.01")),
    "mm": ("length", Decimal("0.001")),
    "l": ("volume", Decimal(1)),
    "ml": ("volume", Decimal("0.001")),
}


def normalise(unit: str) -> str:
    return (unit or "").strip().lower()


def known(unit: str) -> bool:
    return normalise(unit) in UNITS


def convert(quantity: Decimal, from_unit: str, to_unit: str, *, field: str = "unit") -> Decimal:
    """`quantity` in `from_unit`, expressed in `to_unit`; refuses units that don't convert."""
    source, target = normalise(from_unit), normalise(to_unit)
    if source == target:
        return quantity
    if source not in UNITS or target not in UNITS:
        unknown = from_unit if source not in UNITS else to_unit
        raise ValidationFailed(
            gettext("Unit '%(unknown)s' is not a unit the MES knows.") % {"unknown": unknown},
            field=field,
            code="unknown_unit",
        )
    (dim_a, factor_a), (dim_b, factor_b) = UNITS[source], UNITS[target]
    if dim_a != dim_b:
        raise ValidationFailed(
            gettext("'%(from_unit)s' does not convert to '%(to_unit)s' (%(dim_a)s is not %(dim_b)s).")
            % {"from_unit": from_unit, "to_unit": to_unit, "dim_a": dim_a, "dim_b": dim_b},
            field=field,
            code="unit_mismatch",
        )
    return (quantity * factor_a / factor_b).normalize()
