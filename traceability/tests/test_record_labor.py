"""Labor in the production record: who worked each operation and how long, on the page, in the
JSON and the PDF, sealed by a release like every other fact, without breaking records released
before labor was part of the record."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from mes import roles
from mes.models import SignInAttempt
from mes.seal import seal_verify
from traceability.record import services
from traceability.record.exceptions import exceptions_for
from traceability.record.pdf import record_pdf
from traceability.record.review import record_view
from traceability.record.selectors import record_for
from traceability.tests.record_scenario import clean_order

PASSWORD = "pass-word-1"


@pytest.fixture
def quality(make_user):
    return make_user(roles.QUALITY, username="quentin", first_name="Quentin", last_name="Quality")


@pytest.fixture
def relief(make_user):
    return make_user(
        roles.OPERATOR, username="rita", first_name="Rita", last_name="Relief", badge=("1002", "4321")
    )


def _release(order, quality) -> None:
    for e in exceptions_for(record_for(order)):
        services.record_comment(work_order=order, user=quality, exception_key=e.key, text="Checked.")
    services.record_release(work_order=order, user=quality, password=PASSWORD)


def _badge_in(user, workstation, at, monkeypatch) -> None:
    """A badge sign-in at `workstation` at `at` (its time is the moment it is written)."""
    with monkeypatch.context() as m:
        m.setattr(timezone, "now", lambda: at)
        SignInAttempt.objects.create(
            kind=SignInAttempt.Kind.BADGE, identifier=user.badge_number, user=user, workstation=workstation,
            outcome=SignInAttempt.Outcome.SUCCEEDED, succeeded=True,
        )  # fmt: skip


def _ran_seconds(s) -> int:
    last = s.order.events.filter(operation=s.operation).latest("occurred_at").occurred_at
    return round((last - s.start).total_seconds())


def test_the_record_says_who_worked_each_operation_and_how_long(site, operator, relief, monkeypatch):
    s = clean_order(site=site, user=operator)
    _badge_in(relief, s.workstation, s.start + timedelta(seconds=10), monkeypatch)

    labor = record_for(s.order).content["labor"]

    assert [(e["operation"], e["person"], e["badge"]) for e in labor] == [
        (s.operation.pk, relief.printed_name, "1002"),
        (s.operation.pk, operator.printed_name, "1001"),
    ]
    assert labor[1]["seconds"] == 10  # from the start until Rita took over
    assert labor[0]["seconds"] + labor[1]["seconds"] == _ran_seconds(s)


def test_labor_shows_on_the_page_in_the_json_and_in_the_pdf(client_for, site, operator, quality):
    s = clean_order(site=site, user=operator, number="WO-LAB")
    browser = client_for(quality)

    html = browser.get(f"/records/{s.order.number}/").content.decode()
    data = browser.get(f"/api/v1/records/{s.order.number}/").json()
    pdf = " ".join(
        " ".join(p.extract_text().split())
        for p in PdfReader(io.BytesIO(record_pdf(record_view(s.order)))).pages
    )

    assert 'id="labor"' in html and operator.printed_name in html.split('id="labor"')[1].split("</table>")[0]
    [entry] = data["record"]["labor"]
    assert entry["person"] == operator.printed_name and entry["seconds"] == _ran_seconds(s)
    assert "Labor" in pdf and f"{operator.printed_name} 1001" in pdf


def test_a_record_released_before_labor_was_recorded_still_verifies(site, operator, quality, monkeypatch):
    s = clean_order(site=site, user=operator)
    assembled = services.record_for

    def as_before_labor(order):
        record = assembled(order)
        del record.content["labor"]
        return record

    with monkeypatch.context() as m:
        m.setattr(services, "record_for", as_before_labor)
        _release(s.order, quality)
    snapshot = s.order.record_review.snapshots.get()
    assert "labor" not in snapshot.content

    assert record_for(s.order).content["labor"]  # the upgrade assembles labor now
    assert seal_verify().broken_seals == []


def test_a_labor_fact_changed_after_the_release_breaks_the_seal(site, operator, relief, quality, monkeypatch):
    intact = clean_order(site=site, user=operator, number="WO-LAB-OK")
    changed = clean_order(site=site, user=operator, number="WO-LAB-CHG")
    _release(intact.order, quality)
    _release(changed.order, quality)
    assert "labor" in changed.order.record_review.snapshots.get().content

    # A sign-in written afterwards that falls within the run: Rita took over halfway.
    _badge_in(relief, changed.workstation, changed.start + timedelta(seconds=10), monkeypatch)

    assert [b.record for b in seal_verify().broken_seals] == ["production record of order WO-LAB-CHG"]
