"""Evidence for the validation file: a traceability matrix from requirements to test results.

Tests name the requirement they prove with `@pytest.mark.requirement("P11-11.10e", ...)`; the
requirements themselves are listed in `docs/requirements.toml`. Loaded as a plugin
(`pytest -p mes.tests.validation`, which `make validation-report` does), this module notes the
requirements of every collected test and each test's result, and at the end of the run writes the
matrix to `test-artifacts/validation/` as JSON, HTML and PDF: each requirement with the tests that
cover it and their results, the version and time of the run, and every requirement that no test
covers (or that no test proved in this run) flagged. A marker naming an id the list does not know
is flagged too, so a claim cannot drift from the list under review.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import subprocess
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

MARKER = "requirement"
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REQUIREMENTS = ROOT / "docs" / "requirements.toml"
DEFAULT_OUTPUT = ROOT / "test-artifacts" / "validation"

# The status of a requirement in the matrix, worst first.
FAILED = "failed"
NOT_COVERED = "not covered"
NOT_RUN = "not run"
PASSED = "passed"
PROCEDURAL = "procedural"
FLAGGED = {FAILED, NOT_COVERED, NOT_RUN}


@dataclass
class Requirement:
    id: str
    source: str
    title: str
    claim: str
    verification: str = "test"


@dataclass
class Row:
    requirement: Requirement
    tests: list[tuple[str, str]] = field(default_factory=list)  # (test id, outcome)
    status: str = NOT_COVERED


@dataclass
class Matrix:
    version: str
    run_at: str
    rows: list[Row]
    unknown: dict[str, list[str]]  # requirement id named by a marker -> the tests naming it

    @property
    def flagged(self) -> list[Row]:
        return [row for row in self.rows if row.status in FLAGGED]


def load_requirements(path: Path) -> list[Requirement]:
    with path.open("rb") as file:
        return [Requirement(**entry) for entry in tomllib.load(file)["requirement"]]


def requirements_of(item: pytest.Item) -> list[str]:
    return [rid for mark in item.iter_markers(MARKER) for rid in mark.args]


def _status(requirement: Requirement, tests: list[tuple[str, str]]) -> str:
    outcomes = {outcome for _, outcome in tests}
    if requirement.verification == "procedure" and not tests:
        return PROCEDURAL
    if not tests:
        return NOT_COVERED
    if outcomes & {"failed", "error"}:
        return FAILED
    if "passed" in outcomes:
        return PASSED
    return NOT_RUN  # collected but deselected, skipped or not reached


def build_matrix(
    requirements: list[Requirement],
    claims: dict[str, list[str]],
    outcomes: dict[str, str],
    *,
    version: str,
    run_at: str,
) -> Matrix:
    """`claims` maps a test id to the requirement ids it names; `outcomes` a test id to its result."""
    by_requirement: dict[str, list[tuple[str, str]]] = {}
    for test, ids in sorted(claims.items()):
        for rid in ids:
            by_requirement.setdefault(rid, []).append((test, outcomes.get(test, "not run")))
    known = {r.id for r in requirements}
    rows = [
        Row(r, by_requirement.get(r.id, []), _status(r, by_requirement.get(r.id, []))) for r in requirements
    ]
    unknown = {rid: [test for test, _ in tests] for rid, tests in by_requirement.items() if rid not in known}
    return Matrix(version=version, run_at=run_at, rows=rows, unknown=unknown)


def source_version() -> str:
    """The commit the run tested, marked when the working tree differs from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{commit} (with uncommitted changes)" if dirty else commit


# --- writers ----------------------------------------------------------------------------------------


def to_json(matrix: Matrix) -> str:
    data = {
        "version": matrix.version,
        "run_at": matrix.run_at,
        "requirements": [
            {**asdict(row.requirement), "status": row.status, "tests": [list(t) for t in row.tests]}
            for row in matrix.rows
        ],
        "flagged": [row.requirement.id for row in matrix.flagged],
        "unknown_requirements": matrix.unknown,
    }
    return json.dumps(data, indent=2, ensure_ascii=False)


def to_html(matrix: Matrix) -> str:
    e = html.escape
    body = []
    for row in matrix.rows:
        tests = "<br>".join(f"{e(test)} — <b>{e(outcome)}</b>" for test, outcome in row.tests) or "—"
        flag = ' class="flag"' if row.status in FLAGGED else ""
        body.append(
            f"<tr{flag}><td>{e(row.requirement.id)}</td><td>{e(row.requirement.source)}</td>"
            f"<td><b>{e(row.requirement.title)}</b><br>{e(row.requirement.claim)}</td>"
            f"<td>{e(row.status)}</td><td>{tests}</td></tr>"
        )
    unknown = "".join(
        f"<li>{e(rid)}: {e(', '.join(tests))}</li>" for rid, tests in sorted(matrix.unknown.items())
    )
    flagged = ", ".join(e(row.requirement.id) for row in matrix.flagged) or "none"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Traceability matrix</title>
<style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}
td,th{{border:1px solid #999;padding:4px;vertical-align:top;font-size:13px}}
tr.flag td{{background:#fde2e1}}</style></head><body>
<h1>Traceability matrix: requirements and the tests that prove them</h1>
<p>Version: {e(matrix.version)}<br>Run at: {e(matrix.run_at)}</p>
<p>Flagged (not covered, not run or failed): {flagged}</p>
<table><tr><th>Id</th><th>Source</th><th>Requirement</th><th>Status</th><th>Tests</th></tr>
{"".join(body)}</table>
{f"<h2>Markers naming an unknown requirement</h2><ul>{unknown}</ul>" if unknown else ""}
</body></html>
"""


def write_pdf(matrix: Matrix, path: Path) -> None:
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7, leading=8.5)
    e = html.escape

    def cell(text: str) -> Paragraph:
        return Paragraph(text, small)

    data = [
        [
            cell("<b>Id</b>"),
            cell("<b>Source</b>"),
            cell("<b>Requirement</b>"),
            cell("<b>Status</b>"),
            cell("<b>Tests</b>"),
        ]
    ]
    flagged_rows = []
    for index, row in enumerate(matrix.rows, start=1):
        tests = "<br/>".join(f"{e(test)} — {e(outcome)}" for test, outcome in row.tests) or "—"
        data.append(
            [
                cell(e(row.requirement.id)),
                cell(e(row.requirement.source)),
                cell(f"<b>{e(row.requirement.title)}</b><br/>{e(row.requirement.claim)}"),
                cell(e(row.status)),
                cell(tests),
            ]
        )
        if row.status in FLAGGED:
            flagged_rows.append(index)
    table = Table(data, colWidths=[55, 75, 220, 50, 380], repeatRows=1)
    style = [("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
    style += [("BACKGROUND", (0, i), (-1, i), colors.HexColor("#fde2e1")) for i in flagged_rows]
    table.setStyle(TableStyle(style))
    flagged = ", ".join(row.requirement.id for row in matrix.flagged) or "none"
    story = [
        Paragraph("Traceability matrix: requirements and the tests that prove them", styles["Heading1"]),
        Paragraph(f"Version: {e(matrix.version)} — run at {e(matrix.run_at)}", styles["BodyText"]),
        Paragraph(f"Flagged (not covered, not run or failed): {e(flagged)}", styles["BodyText"]),
        table,
    ]
    if matrix.unknown:
        story.append(Paragraph("Markers naming an unknown requirement", styles["Heading2"]))
        story += [
            Paragraph(f"{e(rid)}: {e(', '.join(tests))}", small)
            for rid, tests in sorted(matrix.unknown.items())
        ]

    def page_number(canvas, doc) -> None:
        canvas.setFont("Helvetica", 7)
        canvas.drawRightString(doc.pagesize[0] - 20, 15, f"Page {doc.page} — version {matrix.version}")

    document = SimpleDocTemplate(str(path), pagesize=landscape(A4), leftMargin=20, rightMargin=20)
    document.build(story, onFirstPage=page_number, onLaterPages=page_number)


def write_report(matrix: Matrix, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "matrix.json").write_text(to_json(matrix), encoding="utf-8")
    (directory / "matrix.html").write_text(to_html(matrix), encoding="utf-8")
    write_pdf(matrix, directory / "matrix.pdf")


# --- the plugin -------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("validation", "traceability matrix for the validation file")
    group.addoption("--requirements", default=str(DEFAULT_REQUIREMENTS), help="the requirement list (TOML)")
    group.addoption("--validation-dir", default=str(DEFAULT_OUTPUT), help="where the matrix is written")


class ValidationReport:
    def __init__(self, config: pytest.Config):
        self.config = config
        self.claims: dict[str, list[str]] = {}
        self.outcomes: dict[str, str] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            if ids := requirements_of(item):
                self.claims[item.nodeid] = ids

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self.claims:
            return
        if report.failed:
            self.outcomes[report.nodeid] = "failed" if report.when == "call" else "error"
        elif report.skipped and report.nodeid not in self.outcomes:
            self.outcomes[report.nodeid] = "xfailed" if hasattr(report, "wasxfail") else "skipped"
        elif report.when == "call" and report.passed:
            self.outcomes[report.nodeid] = "passed"

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        matrix = build_matrix(
            load_requirements(Path(self.config.getoption("requirements"))),
            self.claims,
            self.outcomes,
            version=source_version(),
            run_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        directory = Path(self.config.getoption("validation_dir"))
        write_report(matrix, directory)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            flagged = ", ".join(row.requirement.id for row in matrix.flagged) or "none"
            reporter.write_line(f"traceability matrix written to {directory} (flagged: {flagged})")


def pytest_configure(config: pytest.Config) -> None:
    # The marker itself is registered in pyproject.toml, so a marked test runs without this plugin.
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(ValidationReport(config), "validation-report")
