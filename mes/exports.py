"""The one CSV writer of the project: every CSV export goes through `csv_writer`.

A spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` (and, in some, a tab or carriage
return) as a formula, so a supplier named `=HYPERLINK(...)` would turn an auditor's trace export
into a link or worse (CSV injection). Such a text cell is written with a leading single quote, as
OWASP advises: the spreadsheet shows the text and runs nothing. Numbers stay numbers, negative
ones too, whether they come as ints, Decimals, floats or as the plain decimal text of one.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Plain decimal text ("-2", "1.500"): a spreadsheet reads it as the number it is, never a formula.
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def safe_cell(value: Any) -> Any:
    """The value as it may go into a CSV cell: text a spreadsheet would run as a formula is
    quoted; numbers and other text pass unchanged, None becomes an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class SafeWriter:
    """A `csv.writer` whose rows pass through `safe_cell`."""

    def __init__(self, out, **options):
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(out, **options) -> SafeWriter:
    """A CSV writer on `out` (a text stream or an HttpResponse) that escapes formula cells."""
    return SafeWriter(out, **options)
