"""The traceability matrix: each requirement with the tests that prove it, gaps flagged."""

import json
import re
from pathlib import Path

from pypdf import PdfReader

from mes.tests import validation
from mes.tests.validation import (
    FAILED,
    NOT_COVERED,
    NOT_RUN,
    PASSED,
    PROCEDURAL,
    Requirement,
    build_matrix,
    load_requirements,
    write_report,
)

REQUIREMENTS = [
    Requirement("P11-11.10e", "21 CFR 11.10(e)", "Audit trail", "Who, when, why."),
    Requirement("MES-001", "MES", "Ledger idempotency", "Once per key."),
    Requirement("MES-004", "MES", "Site scoping", "Own sites only."),
    Requirement("MES-009", "MES", "Untested", "Nothing proves it yet."),
    Requirement("P11-11.10j", "21 CFR 11.10(j)", "Policies", "Written policy.", verification="procedure"),
]


def _matrix():
    claims = {
        "a.py::test_history": ["P11-11.10e"],
        "a.py::test_retry": ["MES-001", "P11-11.10e"],
        "b.py::test_scoping": ["MES-004"],
        "b.py::test_typo": ["MES-999"],
    }
    outcomes = {"a.py::test_history": "passed", "a.py::test_retry": "failed"}
    return build_matrix(REQUIREMENTS, claims, outcomes, version="abc123", run_at="2026-01-01T00:00:00+00:00")


def test_each_requirement_gets_its_tests_and_a_status_and_gaps_are_flagged():
    matrix = _matrix()
    rows = {row.requirement.id: row for row in matrix.rows}
    assert rows["P11-11.10e"].tests == [("a.py::test_history", "passed"), ("a.py::test_retry", "failed")]
    assert {rid: row.status for rid, row in rows.items()} == {
        "P11-11.10e": FAILED,
        "MES-001": FAILED,
        "MES-004": NOT_RUN,
        "MES-009": NOT_COVERED,
        "P11-11.10j": PROCEDURAL,
    }
    assert [row.requirement.id for row in matrix.flagged] == ["P11-11.10e", "MES-001", "MES-004", "MES-009"]
    assert matrix.unknown == {"MES-999": ["b.py::test_typo"]}


def test_a_requirement_whose_tests_all_passed_is_passed():
    matrix = build_matrix(REQUIREMENTS[:1], {"t": ["P11-11.10e"]}, {"t": "passed"}, version="v", run_at="now")
    assert matrix.rows[0].status == PASSED
    assert matrix.flagged == []


def test_the_report_is_written_as_json_html_and_pdf_with_version_and_time(tmp_path):
    write_report(_matrix(), tmp_path)

    data = json.loads((tmp_path / "matrix.json").read_text())
    assert (data["version"], data["run_at"]) == ("abc123", "2026-01-01T00:00:00+00:00")
    assert data["flagged"] == ["P11-11.10e", "MES-001", "MES-004", "MES-009"]
    assert data["unknown_requirements"] == {"MES-999": ["b.py::test_typo"]}
    page = (tmp_path / "matrix.html").read_text()
    assert "abc123" in page and "a.py::test_retry" in page and 'class="flag"' in page
    text = "".join(p.extract_text() for p in PdfReader(tmp_path / "matrix.pdf").pages)
    assert "abc123" in text and "MES-009" in text and "not covered" in text


def test_the_requirement_list_has_unique_ids_and_every_marker_names_one_of_them():
    listed = [r.id for r in load_requirements(validation.DEFAULT_REQUIREMENTS)]
    assert len(listed) == len(set(listed)) >= 20
    marker = re.compile(r"@pytest\.mark\.requirement\(([^)]*)\)")
    named = set()
    root = Path(validation.ROOT)
    for path in [*root.glob("*/tests/test_*.py"), *root.glob("tests/test_*.py")]:
        for args in marker.findall(path.read_text(encoding="utf-8")):
            named |= set(re.findall(r"\"([^\"]+)\"", args))
    assert named, "no test names a requirement"
    assert named <= set(listed)
