"""The released record as a seal: lots of an unreleased record are not used where the site asks
for it, the verify names a released record that changed, the rejection's meaning, and the PDF's
page furniture."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from pypdf import PdfReader

from mes import roles
from mes.errors import Conflict
from mes.seal import seal_verify
from mes.tests.factories import WorkstationFactory
from traceability.models import RecordSettings
from traceability.record import services
from traceability.record.exceptions import exceptions_for
from traceability.record.pdf import record_pdf
from traceability.record.review import record_view
from traceability.record.selectors import record_for
from traceability.tests.record_scenario import clean_order, event
from workorders import services as production
from workorders.models import Consumption, Lot
from workorders.states import EventKind, WorkOrderStatus
from workorders.tests.factories import key
from workorders.tests.lotdata import consume, good, products, receive, running_order

PASSWORD = "pass-word-1"


@pytest.fixture
def quality(make_user):
    return make_user(roles.QUALITY, username="quentin", first_name="Quentin", last_name="Quality")


def _release(order, quality) -> None:
    for e in exceptions_for(record_for(order)):
        services.record_comment(work_order=order, user=quality, exception_key=e.key, text="Checked.")
    services.record_release(work_order=order, user=quality, password=PASSWORD)


@pytest.fixture
def made_lot(site, supervisor, operator):
    """A sub-assembly lot made (and its order completed) by one order, and a running order of the
    finished product that takes it."""
    plant = products(supervisor)
    raw = receive(plant.raw, site, 100, supervisor)
    maker, (op,) = running_order(plant.sub, supervisor, operator, site=site)
    consume(op, operator, raw.code, "25")
    good(op, operator, 10)
    maker.refresh_from_db()
    if maker.status != WorkOrderStatus.COMPLETED:
        production.workorder_transition(
            work_order_id=maker.pk, target="completed", user=supervisor, key=key(), reason="Done"
        )
        maker.refresh_from_db()
    lot = Lot.objects.get(work_order=maker)
    _user, (later,) = running_order(plant.fg, supervisor, operator, site=site)
    return maker, lot, later


def test_a_lot_of_an_unreleased_record_is_not_consumed_where_the_site_requires_release(
    site, operator, quality, made_lot
):
    maker, lot, later = made_lot
    RecordSettings.objects.create(site=site, requires_record_release=True)

    with pytest.raises(Conflict) as refused:
        consume(later, operator, lot.code, "1")

    assert refused.value.field == "lot" and refused.value.code == "record_not_released"
    assert refused.value.message == (
        f"Lot {lot.code} (made by order {maker.number}): its production record is not released."
    )
    assert not Consumption.objects.filter(lot=lot).exists()
    with translation.override("de"), pytest.raises(Conflict) as in_german:
        consume(later, operator, lot.code, "1")
    assert in_german.value.message == (
        f"Charge {lot.code} (aus Auftrag {maker.number}): Ihr Herstellprotokoll ist nicht freigegeben."
    )

    _release(maker, quality)
    consume(later, operator, lot.code, "1")
    assert Consumption.objects.filter(lot=lot, work_order=later.work_order).count() == 1


def test_without_the_site_rule_a_lot_is_consumed_before_its_record_is_released(operator, made_lot):
    _maker, lot, later = made_lot
    consume(later, operator, lot.code, "1")
    assert Consumption.objects.filter(lot=lot).count() == 1


def test_a_rejected_record_keeps_its_lots_back_and_the_refusal_is_a_409(
    client_for, site, operator, quality, made_lot
):
    maker, lot, later = made_lot
    RecordSettings.objects.create(site=site, requires_record_release=True)
    services.record_reject(work_order=maker, user=quality, password=PASSWORD, comment="Scrap not explained")

    answer = client_for(operator).post(
        f"/api/v1/operations/{later.pk}/consume/",
        {
            "workstation": later.workstation_id,
            "lot": lot.code,
            "quantity": "1",
            "idempotency_key": str(key()),
        },
        content_type="application/json",
    )

    assert answer.status_code == 409, answer.content
    assert "its production record is not released" in answer.json()["errors"]["lot"][0]


@pytest.mark.requirement("P11-11.10a", "A11-14")
def test_verify_audit_trail_names_a_released_record_changed_after_its_release(
    client_for, site, operator, quality, auditor
):
    s = clean_order(site=site, user=operator)
    _release(s.order, quality)
    call_command("verify_audit_trail", stdout=io.StringIO(), stderr=io.StringIO())

    s.operation.workstation = WorkstationFactory(line=s.workstation.line, code="ASM9")
    s.operation._change_reason = "Moved after the fact"
    s.operation.save()

    err = io.StringIO()
    with pytest.raises(CommandError, match="1 sealed records no longer match"):
        call_command("verify_audit_trail", stdout=io.StringIO(), stderr=err)
    assert f"broken seal: production record of order {s.order.number}: what it covers changed" in (
        err.getvalue()
    )
    # The chain itself holds: the edit is in the history.
    assert seal_verify().ok
    html = client_for(quality).get(f"/records/{s.order.number}/").content.decode()
    assert "Broken seal:" in html
    verify = client_for(auditor).get("/api/v1/audit/verify/").json()
    assert verify["ok"] is True and verify["broken_seals"][0].startswith(
        f"production record of order {s.order.number}: what it covers changed"
    )


def test_a_late_event_breaks_the_seal_too_and_an_intact_one_is_not_reported(site, operator, quality):
    intact = clean_order(site=site, user=operator, number="WO-OK")
    changed = clean_order(site=site, user=operator, number="WO-LATE")
    _release(intact.order, quality)
    _release(changed.order, quality)

    event(changed, EventKind.SCRAP, quantity=Decimal(1))

    assert [b.record for b in seal_verify().broken_seals] == ["production record of order WO-LATE"]


def test_the_pdf_prints_order_page_and_hash_on_every_page(site, operator, quality):
    s = clean_order(site=site, user=operator, number="WO-PDF")
    for _ in range(120):
        event(s, EventKind.PAUSE)
    view = record_view(s.order)

    reader = PdfReader(io.BytesIO(record_pdf(view)))

    pages = len(reader.pages)
    assert pages >= 3
    for number, page in enumerate(reader.pages, start=1):
        text = " ".join(page.extract_text().split())
        assert "Order WO-PDF" in text and view.content_hash in text
        assert f"Page {number} of {pages}" in text
    first = " ".join(reader.pages[0].extract_text().split())
    assert first.index("Exceptions") < first.index("Operations")


def test_a_release_keeps_what_was_signed_and_facts_added_by_a_later_release_do_not_break_it(
    site, operator, quality, monkeypatch
):
    from traceability.record import seals
    from traceability.record import selectors as record_selectors

    s = clean_order(site=site, user=operator)
    _release(s.order, quality)
    snapshot = s.order.record_review.snapshots.get()
    assert snapshot.status == "released" and snapshot.content_hash == s.order.record_review.record_hash
    assert snapshot.content == record_selectors.record_json(record_for(s.order).content)

    assembled_by_an_upgrade = record_selectors.record_for

    def with_a_new_section(order):
        record = assembled_by_an_upgrade(order)
        record.content["energy"] = [{"workstation": "ASM", "kwh": "12.5"}]
        record.content["order"]["new_field"] = "added later"
        return record

    monkeypatch.setattr(seals, "record_for", with_a_new_section)
    assert seal_verify().broken_seals == []  # what was signed still matches

    event(s, EventKind.SCRAP, quantity=Decimal(1))  # a fact the release covered changes
    assert [b.record for b in seal_verify().broken_seals] == [f"production record of order {s.order.number}"]
