"""How many rows every table holds: tests of refused input assert that nothing was written.

Every model Django knows is counted (history tables and many-to-many tables included), in one
query, so a model added later is covered without touching the tests.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from hypothesis import HealthCheck, event, settings


def tables() -> list[str]:
    return sorted(
        {
            m._meta.db_table
            for m in apps.get_models(include_auto_created=True)
            if m._meta.managed and not m._meta.proxy
        }
    )


def row_counts() -> dict[str, int]:
    """{table: rows} for every table of every model."""
    names = tables()
    quote = connection.ops.quote_name
    sql = "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(t)})" for t in names)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(zip(names, cursor.fetchone(), strict=True))


def changed(before: dict[str, int], after: dict[str, int], *, allowed: tuple[str, ...] = ()) -> dict:
    """The tables whose count moved, but for the `allowed` ones: {table: (before, after)}."""
    return {t: (before[t], after[t]) for t in before if before[t] != after[t] and t not in allowed}


def answer_to_garbage(what: str, send: Callable):
    """Send one request of garbage; fail on a 5xx or a database error. Inside a savepoint, so a
    failed statement can't poison the requests that follow in the same test."""
    try:
        with transaction.atomic():
            response = send()
    except DatabaseError as exc:
        pytest.fail(f"{what} broke the database: {exc!r}")
    status = response.status_code
    event(f"{what.split()[0]} {status // 100}xx")  # --hypothesis-show-statistics: how it was answered
    assert status < 500, f"{what} answered {status}: {response.content[:300]!r}"
    return response


def assert_refusal_says_why(what: str, response) -> None:
    """A JSON 400 carries the project's error shape: a detail and a code."""
    if response.status_code == 400 and response.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        assert body.get("detail") and body.get("code"), f"{what}: a refusal without its reason {body}"


def garbage_settings(max_examples: int):
    """Hypothesis settings of the garbage tests: one plant for every example (refusals change
    nothing, so it stays valid), no deadline, and no example database to replay from."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )
