"""Labor to the ERP: a labor confirmation per operation when its labor closes, written with the event
that closes it, delivered to the fake ERP (a real server) in both formats and booked once however
often it is sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integration import services
from integration.messages import message_key
from integration.models import OutboxMessage
from integration.states import MessageStatus as M
from integration.states import MessageType
from workorders import services as production
from workorders.tests.factories import key, released_order

HOUR = 3600


@pytest.fixture
def labor_on(settings):
    settings.ERP_LABOR = True


@pytest.fixture
def an_hour_ago(db, operator, supervisor, workstation):
    """An order of 5 whose one operation the operator (badge 1001) started an hour ago."""
    order = released_order(user=supervisor, workstations=[workstation], quantity=5)
    operation = order.operations.get()
    production.operation_start(
        operation_id=operation.pk, workstation=workstation, user=operator, key=key(),
        occurred_at=timezone.now() - timedelta(hours=1),
    )  # fmt: skip
    return order, operation


def _good(operation, operator, quantity, k=None):
    return production.operation_record_good(
        operation_id=operation.pk, workstation=operation.workstation, user=operator, quantity=quantity,
        key=k or key(),
    )  # fmt: skip


def _drain():
    while services.outbox_deliver_due(limit=50).claimed:
        pass


def test_the_count_that_finishes_an_operation_carries_its_labor_confirmation(labor_on, an_hour_ago, operator):
    _order, operation = an_hour_ago
    _good(operation, operator, 2)
    assert not OutboxMessage.objects.filter(message_type=MessageType.LABOR).exists()  # still running

    k = key()
    finishing = _good(operation, operator, 3, k=k).event
    _good(operation, operator, 3, k=k)  # the tablet sends it again: nothing more is written

    labor = OutboxMessage.objects.get(message_type=MessageType.LABOR)
    assert labor.event == finishing  # written with the event, in its transaction
    assert labor.idempotency_key == message_key(finishing, MessageType.LABOR)
    own = OutboxMessage.objects.get(event=finishing, message_type=MessageType.GOOD)
    assert labor.sequence == own.sequence + 1
    [line] = labor.payload["lines"]
    assert (line["operation"]["sequence"], line["personnel_number"]) == (operation.sequence, "1001")
    assert line["seconds"] == pytest.approx(HOUR, abs=5)
    assert labor.payload["operations"][0]["final"] is True
    assert OutboxMessage.objects.filter(message_type=MessageType.LABOR).count() == 1


def test_an_order_completed_short_closes_the_labor_of_what_ran(labor_on, an_hour_ago, operator, supervisor):
    order, operation = an_hour_ago
    _good(operation, operator, 2)

    production.workorder_transition(
        work_order_id=order.pk, target="completed", user=supervisor, key=key(), reason="Material ran out"
    )

    labor = OutboxMessage.objects.get(message_type=MessageType.LABOR)
    assert labor.event.kind == "order_status" and labor.event.data["to"] == "completed"
    assert [op["sequence"] for op in labor.payload["operations"]] == [operation.sequence]
    assert labor.payload["lines"][0]["seconds"] == pytest.approx(HOUR, abs=5)


def test_without_an_erp_that_books_labor_no_confirmation_is_queued(an_hour_ago, operator):
    _order, operation = an_hour_ago
    _good(operation, operator, 5)
    assert not OutboxMessage.objects.filter(message_type=MessageType.LABOR).exists()


@pytest.mark.parametrize("connector", ["json", "b2mml"])
def test_the_erp_books_the_labor_once_however_often_it_is_sent(
    labor_on, an_hour_ago, operator, fake_erp, settings, connector
):
    settings.ERP_CONNECTOR = connector
    order, operation = an_hour_ago
    _good(operation, operator, 5)

    _drain()
    labor = OutboxMessage.objects.get(message_type=MessageType.LABOR)
    assert labor.status == M.ACKNOWLEDGED, labor.last_error
    booked = fake_erp.order(order.number)
    seconds = labor.payload["lines"][0]["seconds"]
    assert booked["labor_seconds"] == seconds == pytest.approx(HOUR, abs=5)
    assert booked["labor_by_person"] == {"1001": seconds}
    assert booked["labor_by_operation"] == {str(operation.sequence): seconds}

    # A retry after a lost answer sends the same key: the ERP answers as before and books nothing.
    OutboxMessage.objects.filter(pk=labor.pk).update(status=M.PENDING)
    _drain()
    labor.refresh_from_db()
    assert labor.status == M.ACKNOWLEDGED
    assert fake_erp.order(order.number)["labor_seconds"] == seconds
    assert fake_erp.stats()["duplicates"] == 1
    assert fake_erp.stats()["unique"] == OutboxMessage.objects.count()
