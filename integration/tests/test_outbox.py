"""The outbox row is written in the ledger event's transaction: it exists iff the event committed."""

from __future__ import annotations

import uuid

import pytest

from integration.messages import message_key
from integration.models import OutboxMessage
from integration.states import MessageStatus, MessageType
from mes import hooks
from workorders import services
from workorders.models import ProductionEvent
from workorders.tests.factories import key


class Boom(Exception):
    pass


def _fail_after_outbox(event):
    raise Boom("a later step of the business transaction fails")


@pytest.mark.requirement("MES-002")
@pytest.mark.django_db(transaction=True)
def test_rolled_back_business_transaction_leaves_no_outbox_row_and_committed_one_leaves_exactly_one(
    started, monkeypatch
):
    before = OutboxMessage.objects.count()
    # Given a handler after the outbox's that fails: the whole business transaction rolls back.
    monkeypatch.setattr(hooks, "_event_handlers", [*hooks._event_handlers, _fail_after_outbox])
    with pytest.raises(Boom):
        started.good(3)
    assert OutboxMessage.objects.count() == before
    assert not ProductionEvent.objects.filter(kind="complete").exists()

    monkeypatch.setattr(
        hooks, "_event_handlers", [h for h in hooks._event_handlers if h is not _fail_after_outbox]
    )
    recorded = started.good(3)
    messages = OutboxMessage.objects.filter(event=recorded.event)
    assert messages.count() == 1
    assert OutboxMessage.objects.count() == before + 1


def test_a_retried_request_writes_no_second_message(started):
    k = key()
    first = started.good(2, key=k)
    again = started.good(2, key=k)
    assert again.replayed and again.event.pk == first.event.pk
    assert OutboxMessage.objects.filter(message_type=MessageType.GOOD).count() == 1


def test_completion_message_carries_the_mapped_payload_and_a_key_derived_from_the_event(started, site):
    recorded = started.good(5)
    message = OutboxMessage.objects.get(event=recorded.event)
    assert message.status == MessageStatus.PENDING
    assert message.idempotency_key == message_key(recorded.event, "completion")
    assert message.idempotency_key == uuid.uuid5(recorded.event.idempotency_key, "erp-outbox:completion")
    p = message.payload
    order = started.order
    assert p["message_type"] == "completion"
    assert p["material"] == order.product.part_number
    assert p["unit"] == order.product.unit
    assert p["plant"] == site.code
    assert p["order_number"] == order.number
    assert p["operation"]["sequence"] == started.operation.sequence
    assert p["operation"]["last"] is True
    assert p["operation"]["workstation"] == started.workstation.code
    assert p["quantity"] == "5"
    assert p["sequence"] == message.sequence
    assert p["idempotency_key"] == str(message.idempotency_key)


def test_scrap_message_carries_the_reason(started):
    recorded = started.scrap(2, reason="SCRATCH")
    p = OutboxMessage.objects.get(event=recorded.event).payload
    assert p["message_type"] == "scrap"
    assert p["quantity"] == "2"
    assert p["reason"]["code"] == "SCRATCH"


def test_order_status_changes_are_messages_and_the_sequence_counts_per_order(started, supervisor):
    # released (1) and in progress (2) were written when the fixture released and started the order
    started.good(1)
    started.scrap(1)
    services.workorder_transition(
        work_order_id=started.order.pk, target="on_hold", user=supervisor, key=key(), reason_code="QHOLD"
    )
    messages = list(OutboxMessage.objects.filter(work_order=started.order).order_by("sequence"))
    assert [m.message_type for m in messages] == [
        "order_status",
        "order_status",
        "completion",
        "scrap",
        "order_status",
    ]
    assert [m.sequence for m in messages] == [1, 2, 3, 4, 5]
    assert messages[-1].payload["status"] == {"from": "in_progress", "to": "on_hold"}


def test_events_the_erp_does_not_care_about_write_no_message(started, reasons):
    before = OutboxMessage.objects.count()
    services.operation_pause(
        operation_id=started.operation.pk,
        workstation=started.workstation,
        user=started.operator,
        reason="BREAK",
        key=key(),
    )
    services.downtime_start(workstation=started.workstation, user=started.operator, reason="JAM", key=key())
    assert OutboxMessage.objects.count() == before


def test_with_no_erp_configured_messages_wait_as_pending(started, django_capture_on_commit_callbacks):
    from integration import services as integration

    with django_capture_on_commit_callbacks(execute=True):
        started.good(1)
    report = integration.outbox_deliver_due()
    assert report.configured is False
    assert not OutboxMessage.objects.exclude(status=MessageStatus.PENDING).exists()
