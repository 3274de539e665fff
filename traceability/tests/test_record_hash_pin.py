"""A released record is sealed by its hash: assembling the same facts must keep giving the same
hash, whatever changes in how the record is read. A fixed order (fixed ids, times and names) with
one of each exception pins it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory
import pytest
from django.utils import timezone

from mes.tests import factories as mes_factories
from mes.tests.factories import SiteFactory, UserFactory, WorkstationFactory
from quality.models import ChecklistItem, ChecklistResponse
from quality.states import ItemKind
from traceability.record.exceptions import exceptions_for
from traceability.record.selectors import record_for, record_hash
from traceability.tests.record_scenario import clean_order, event, with_every_exception
from workorders.models import BomLine, Downtime
from workorders.states import EventKind
from workorders.tests import factories as workorder_factories
from workorders.tests.factories import ProductFactory, ReasonCodeFactory

NOW = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)

# The hash the record of the order below had when this test was written. If it changes, a sealed
# record would no longer verify: change the assembly, not this value (unless the record's facts
# were deliberately extended, which changes every hash and needs a migration of the seals).
PINNED = "54711082a584fe839611598c19bfd700aa1e79646aa596011cf6f0db44f3c1e3"
# Labor joined the record afterwards: the record with it hashes to this, and without it (the shape
# of a record released before, which its snapshot holds the seal check to) still to PINNED.
PINNED_WITH_LABOR = "0430563241768454d342d22ae135e9e02ae285d2f3417105dbca2b69be53f6d2"


def _reset_factory_sequences() -> None:
    for module in (mes_factories, workorder_factories):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, factory.django.DjangoModelFactory):
                value.reset_sequence()


# Fixed ids need every sequence to start afresh, hence a transactional test.
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_the_same_facts_give_the_pinned_hash(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    _reset_factory_sequences()
    site = SiteFactory(code="PIN", name="Pinned plant")
    operator = UserFactory(username="pin-op", first_name="Olga", last_name="Operator", site=site)
    supervisor = UserFactory(username="pin-sup", first_name="Sam", last_name="Supervisor", site=site)
    s = with_every_exception(clean_order(site=site, user=operator, lots=2), supervisor=supervisor)
    BomLine.objects.create(
        product=s.order.product, component=ProductFactory(part_number="PIN-COMP"), quantity=Decimal("1.5")
    )
    first = s.runs[0].responses.get()
    first.__class__.objects.create(
        run=first.run, item=first.item, value_number=Decimal("5.20"), in_spec=True, recorded_by=operator,
        recorded_at=NOW, supersedes=first, correction_reason="Misread the gauge",
    )  # fmt: skip

    record = record_for(s.order)

    assert len(exceptions_for(record)) == 12
    assert record_hash({k: v for k, v in record.content.items() if k != "labor"}) == PINNED
    assert record.content_hash == PINNED_WITH_LABOR


@pytest.mark.django_db
def test_every_kind_of_answer_reads_in_the_record_as_on_its_checklist(site, operator):
    s = clean_order(site=site, user=operator)
    run = s.runs[0]
    answers = [
        (ItemKind.CHOICE, {"value_choices": ["Red", "Blue"]}),
        (ItemKind.CHOICE, {"value_choices": []}),
        (ItemKind.CHECK, {"value_bool": True}),
        (ItemKind.PASS_FAIL, {"value_bool": False}),
        (ItemKind.PASS_FAIL, {}),
        (ItemKind.TEXT, {"value_text": "Looks fine"}),
        (ItemKind.PHOTO, {"photo": "quality/photos/2026/03/weld.jpg"}),
        (ItemKind.NUMBER, {"value_number": Decimal("7.1")}),
        (ItemKind.NUMBER, {}),
    ]
    for position, (kind, values) in enumerate(answers, start=2):
        item = ChecklistItem.objects.create(
            version=run.version,
            position=position,
            kind=kind,
            prompt=f"{kind} {position}",
            unit="mm",
            decimals=3,
        )
        ChecklistResponse.objects.create(run=run, item=item, recorded_by=operator, recorded_at=NOW, **values)

    [recorded] = record_for(s.order).content["checklist_runs"]

    shown = {r["id"]: r["value"] for r in recorded["responses"]}
    expected = {r.pk: r.display_value for r in run.responses.select_related("item")}
    assert shown == expected
    assert "Red, Blue" in shown.values() and "Fail" in shown.values() and "weld.jpg" in shown.values()


@pytest.mark.django_db
def test_downtime_is_the_stops_at_its_workstations_while_its_operations_ran(site, operator):
    s = clean_order(site=site, user=operator)
    last = s.order.events.filter(operation=s.operation).latest("occurred_at").occurred_at
    reason = ReasonCodeFactory(code="JAM", kind="downtime", loss="breakdown")
    elsewhere = WorkstationFactory(line=s.workstation.line)

    def stop(started, ended=None, *, workstation=None):
        return Downtime.objects.create(
            workstation=workstation or s.workstation, reason=reason, started_at=started, ended_at=ended,
            start_event=event(s, EventKind.DOWNTIME_START, operation=None, at=started),
        )  # fmt: skip

    during = stop(s.start + timedelta(seconds=5), s.start + timedelta(seconds=10))
    stop(s.start - timedelta(minutes=10), s.start - timedelta(minutes=5))  # over before it started
    stop(s.start + timedelta(seconds=5), s.start + timedelta(seconds=8), workstation=elsewhere)
    stop(last + timedelta(hours=1), last + timedelta(hours=2))  # after its last event
    still_open = stop(s.start + timedelta(seconds=15))

    downtime = record_for(s.order).content["downtime"]

    assert [(d["id"], d["operations"]) for d in downtime] == [
        (during.pk, [s.operation.pk]),
        (still_open.pk, [s.operation.pk]),
    ]
    assert downtime[0]["minutes"] == 0.1 and downtime[1]["minutes"] is None
