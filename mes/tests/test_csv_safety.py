"""The one CSV writer: a cell a spreadsheet would run as a formula is written as text; numbers,
negative ones too, stay numbers; and no module writes CSV any other way."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest

from mes.exports import csv_writer, safe_cell

ROOT = Path(__file__).resolve().parents[2]


def written(row) -> list[str]:
    out = io.StringIO()
    csv_writer(out).writerow(row)
    return next(csv.reader(io.StringIO(out.getvalue())))


@pytest.mark.parametrize(
    "cell",
    ["=1+1", '=HYPERLINK("https://evil.example","x")', "+2+3", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1", "-"],
)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(cell):
    assert written([cell]) == ["'" + cell]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (-2, "-2"),
        (Decimal("-1.500"), "-1.500"),
        (-0.25, "-0.25"),
        (7, "7"),
        ("-2", "-2"),
        ("+3.5", "+3.5"),
        ("RAW-1", "RAW-1"),
        ("Pump = good", "Pump = good"),
        (None, ""),
    ],
)
def test_numbers_and_plain_text_pass_unchanged(value, cell):
    assert written([value]) == [cell]


def test_cells_keep_their_type_until_the_csv_module_writes_them():
    assert safe_cell(Decimal("-3")) == Decimal("-3") and safe_cell(-1) == -1


def test_every_csv_export_goes_through_the_one_writer():
    """A new export written with `csv.writer` directly would bring formula injection back."""
    direct = re.compile(r"\bcsv\.(writer|DictWriter)\(")
    offenders = [
        str(path.relative_to(ROOT))
        for app in ("mes", "workorders", "quality", "traceability", "integration")
        for path in (ROOT / app).rglob("*.py")
        if "tests" not in path.parts and path.name != "exports.py" and direct.search(path.read_text())
    ]
    assert offenders == []
