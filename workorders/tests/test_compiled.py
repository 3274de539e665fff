"""Querysets compiled once (`mes.compiled`) answer what the queryset itself answers."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from mes.compiled import Compiled, update_row
from mes.tests.factories import WorkstationFactory
from workorders.models import WorkOrder, WorkOrderOperation
from workorders.tests.factories import released_order


def _operations(pk):
    later = WorkOrderOperation.objects.filter(
        work_order_id=OuterRef("work_order_id"), sequence__gt=OuterRef("sequence")
    )
    return (
        WorkOrderOperation.objects.select_related("work_order__product", "work_order__line__site")
        .annotate(is_last=~Exists(later))
        .filter(pk=pk)
    )


OPERATIONS = Compiled(_operations, "pk")
VALUES = Compiled(
    lambda order_id: (
        WorkOrderOperation.objects.filter(work_order_id=order_id)
        .order_by("sequence")
        .values("pk", "sequence", "work_order__number", "work_order__quantity")
    ),
    "order_id",
)
FOR_UPDATE = Compiled(lambda pk: WorkOrder.objects.select_for_update().filter(pk=pk), "pk")


@pytest.fixture
def order(site, supervisor):
    first = WorkstationFactory(line__site=site, code="A")
    second = WorkstationFactory(line=first.line, code="B")
    return released_order(user=supervisor, workstations=[first, second], quantity=10)


@pytest.mark.django_db
def test_instances_come_with_their_related_rows_and_annotations_as_the_queryset_gives_them(order):
    first, last = order.operations.order_by("sequence")
    for op in (first, last):
        (expected,) = _operations(op.pk)
        (found,) = OPERATIONS.all(pk=op.pk)
        with CaptureQueriesContext(connection) as reads:
            related = (found.work_order, found.work_order.product, found.work_order.line.site)
        assert len(reads) == 0
        assert related == (expected.work_order, expected.work_order.product, expected.work_order.line.site)
        assert found.is_last is expected.is_last
        assert [getattr(found, f.attname) for f in WorkOrderOperation._meta.concrete_fields] == [
            getattr(expected, f.attname) for f in WorkOrderOperation._meta.concrete_fields
        ]
        assert not found._state.adding and found._state.db == "default"
    assert OPERATIONS.all(pk=last.pk + 1000) == []


@pytest.mark.django_db
def test_values_come_as_dicts_of_converted_columns(order):
    rows = VALUES.all(order_id=order.pk)
    assert rows == list(
        WorkOrderOperation.objects.filter(work_order_id=order.pk)
        .order_by("sequence")
        .values("pk", "sequence", "work_order__number", "work_order__quantity")
    )
    assert isinstance(rows[0]["work_order__quantity"], Decimal)


@pytest.mark.django_db(transaction=True)
def test_a_locking_read_is_refused_outside_a_transaction_as_the_orm_refuses_it(order):
    with transaction.atomic():
        assert FOR_UPDATE.all(pk=order.pk)[0].pk == order.pk
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in FOR_UPDATE.sql()
        with pytest.raises(TransactionManagementError):
            FOR_UPDATE.all(pk=order.pk)


@pytest.mark.django_db
def test_arguments_are_whole_numbers_named_as_declared(order):
    with pytest.raises(TypeError):
        OPERATIONS.all(pk=str(order.pk))
    with pytest.raises(TypeError):
        OPERATIONS.all(id=order.pk)


@pytest.mark.django_db
def test_update_row_writes_what_a_queryset_update_writes(order):
    op = order.operations.order_by("sequence").first()
    assert (
        update_row(WorkOrderOperation, op.pk, {"quantity_good": Decimal("2.500"), "status": "running"}) == 1
    )
    op.refresh_from_db()
    assert (op.quantity_good, op.status) == (Decimal("2.5"), "running")
    assert update_row(WorkOrderOperation, op.pk + 1000, {"quantity_good": Decimal(1)}) == 0
