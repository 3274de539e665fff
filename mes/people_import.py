"""Importing a plant's people from a CSV file, all or nothing (`manage.py import_people`).

Columns (a header row names them, in any order): username, first_name, last_name, badge_number,
role, sites (site codes separated by ";", or "*" for every site) and, optionally, email.

Every row is checked before anything counts, by the same services (and so the same rules) as
the people desk, inside one transaction: the file's own mistakes first (a missing value, an
unknown role or site, a username or badge twice in the file), then each row as the service would
take it (a badge held by someone else, a bad username, a role or site the importing person may
not give). One problem anywhere and the whole transaction is rolled back: the file is refused with
"line N: field: reason" for each problem and nothing is imported. A row whose username exists
brings that person up to date, and a row that would change nothing writes nothing, so importing
the same file again changes nothing and adds no history. A dry run checks it all the same and
rolls back.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

from django.db import transaction

from mes import roles
from mes.errors import MesError, ValidationFailed
from mes.models import Site, User
from mes.people_services import person_create, person_update

COLUMNS = ("username", "first_name", "last_name", "badge_number", "role", "sites", "email")
OPTIONAL_COLUMNS = {"email"}
EVERY_SITE = "*"


class ImportRefused(ValidationFailed):
    """The file is refused; `problems` says where and why, one "line N: field: reason" each."""

    def __init__(self, problems: list[str]):
        super().__init__(
            f"The file is refused ({len(problems)} problem(s)); nothing was imported.", code="import_refused"
        )
        self.problems = problems


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    dry_run: bool = False


@dataclass
class _Row:
    line: int
    username: str
    details: dict


def _problem(line: int, column: str, reason: str) -> tuple[int, str]:
    return line, f"line {line}: {column}: {reason}"


def _parse(text: str, sites_by_code: dict[str, Site]) -> tuple[list[_Row], list[tuple[int, str]], bool]:
    """The rows of the file with their line numbers, the file's own problems, and whether it has
    an email column."""
    reader = csv.DictReader(text.splitlines(keepends=True))
    header = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [name for name in COLUMNS if name not in header and name not in OPTIONAL_COLUMNS]
    unknown = [name for name in header if name not in COLUMNS]
    problems = []
    if missing:
        problems.append(_problem(1, "header", f"missing column(s): {', '.join(missing)}"))
    if unknown:
        problems.append(_problem(1, "header", f"unknown column(s): {', '.join(unknown)}"))
    if problems:
        return [], problems, False
    rows: list[_Row] = []
    first_line: dict[tuple[str, str], int] = {}
    for raw in reader:
        line = reader.line_num
        if None in raw:
            problems.append(_problem(line, "row", f"more values than the {len(header)} columns"))
            continue
        values = {name: (raw.get(name) or "").strip() for name in COLUMNS}
        if not any(values.values()):
            continue  # a blank line
        row_problems = []
        for column in ("username", "badge_number"):
            value = values[column]
            if value and (column, value) in first_line:
                row_problems.append(
                    _problem(line, column, f"{value} is also on line {first_line[column, value]}")
                )
            elif value:
                first_line[column, value] = line
        if not values["username"]:
            row_problems.append(_problem(line, "username", "required"))
        if values["role"] not in roles.ALL_ROLES:
            role = values["role"] or "(none)"
            row_problems.append(
                _problem(line, "role", f"{role} is no role; one of {', '.join(roles.ALL_ROLES)}")
            )
        codes = [code.strip() for code in values["sites"].split(";") if code.strip()]
        every_site = codes == [EVERY_SITE]
        unknown_sites = [] if every_site else [code for code in codes if code not in sites_by_code]
        if not codes:
            row_problems.append(
                _problem(line, "sites", f"required: site codes separated by ';', or {EVERY_SITE}")
            )
        elif unknown_sites:
            row_problems.append(_problem(line, "sites", f"unknown site(s): {', '.join(unknown_sites)}"))
        if row_problems:
            problems.extend(row_problems)
            continue
        details = {
            "first_name": values["first_name"],
            "last_name": values["last_name"],
            "badge_number": values["badge_number"] or None,
            "email": values["email"],
            "role": values["role"],
            "sites": [] if every_site else [sites_by_code[code] for code in codes],
            "all_sites": every_site,
        }
        rows.append(_Row(line=line, username=values["username"], details=details))
    return rows, problems, "email" in header


def people_import(*, text: str, by: User, reason: str, dry_run: bool = False) -> ImportResult:
    """Import the people of a CSV file's `text` as `by`, with `reason` in their history; all or
    nothing (see the module). Raises ImportRefused with every problem found; a dry run returns
    what the import would do and writes nothing."""
    result = ImportResult(dry_run=dry_run)
    with transaction.atomic():
        rows, problems, has_email = _parse(text, {site.code: site for site in Site.objects.all()})
        existing = {
            person.username: person
            for person in User.objects.filter(username__in=[row.username for row in rows])
        }
        for row in rows:
            details = dict(row.details)
            try:
                person = existing.get(row.username)
                if person is None:
                    person_create(by=by, username=row.username, reason=reason, **details)
                    result.created.append(row.username)
                    continue
                if not has_email:
                    details["email"] = None  # no column: the person's e-mail stays as it is
                changed = person_update(person=person, by=by, reason=reason, **details)
            except MesError as exc:
                problems.append(_problem(row.line, exc.field or "row", exc.message))
                continue
            if changed:
                result.changed[row.username] = changed
            else:
                result.unchanged.append(row.username)
        if problems:  # raised inside the transaction: it rolls back
            raise ImportRefused([message for _, message in sorted(problems)])
        if dry_run:
            transaction.set_rollback(True)
    return result
