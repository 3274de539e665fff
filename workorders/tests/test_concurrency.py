"""Two tablets recording on one operation at the same moment never lose an update (PostgreSQL)."""

import uuid
from decimal import Decimal

import pytest
from django.db import connection

from mes.tests.factories import WorkstationFactory
from mes.tests.threads import run_in_threads
from workorders import services
from workorders.models import ProductionEvent, WorkOrderOperation
from workorders.tests.factories import key, released_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8
TAPS_PER_THREAD = 15


def test_concurrent_completions_on_one_operation_are_all_counted(site, operator, supervisor):
    station = WorkstationFactory(line__site=site)
    order = released_order(user=supervisor, workstations=[station], quantity=100000)
    op = order.operations.get()
    services.operation_start(operation_id=op.pk, workstation=station, user=operator, key=key())

    def tap(i):
        for n in range(TAPS_PER_THREAD):
            services.operation_record_good(
                operation_id=op.pk,
                workstation=station,
                user=operator,
                quantity=1 + (i + n) % 3,
                key=uuid.uuid4(),
            )

    run_in_threads(tap, THREADS)
    op.refresh_from_db()
    accepted = ProductionEvent.objects.filter(operation=op, kind="complete")
    assert accepted.count() == THREADS * TAPS_PER_THREAD
    assert op.quantity_good == sum((e.quantity for e in accepted), Decimal(0))
    order.refresh_from_db()
    assert order.quantity_good == op.quantity_good


def test_the_same_tap_sent_by_many_threads_at_once_counts_once(site, operator, supervisor):
    station = WorkstationFactory(line__site=site)
    order = released_order(user=supervisor, workstations=[station], quantity=1000)
    op = order.operations.get()
    services.operation_start(operation_id=op.pk, workstation=station, user=operator, key=key())
    tap_key = uuid.uuid4()
    results = []

    def send(i):
        results.append(
            services.operation_record_good(
                operation_id=op.pk, workstation=station, user=operator, quantity=2, key=tap_key
            )
        )

    run_in_threads(send, THREADS)
    assert len({r.event.pk for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert WorkOrderOperation.objects.get(pk=op.pk).quantity_good == 2


def test_the_ledger_refuses_update_and_delete():
    from django.db import DatabaseError, transaction

    from mes.tests.factories import UserFactory

    user = UserFactory()
    event = ProductionEvent.objects.create(
        kind="start",
        idempotency_key=uuid.uuid4(),
        request_fingerprint="x",
        user=user,
        occurred_at="2026-01-01T00:00:00Z",
    )
    for statement in (
        "UPDATE workorders_productionevent SET note = 'edited' WHERE id = %s",
        "DELETE FROM workorders_productionevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as c,
        ):
            c.execute(statement, [event.pk])
