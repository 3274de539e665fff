"""Querysets compiled once (`mes.compiled`) answer what the queryset itself answers."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from mes.compiled import Compiled, insert_row, padded_ids, update_row
from mes.tests.factories import WorkstationFactory
from workorders.models import ProductionEvent, ReasonCode, WorkOrder, WorkOrderOperation
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
def test_arguments_are_of_the_kinds_supported_and_named_as_declared(order):
    with pytest.raises(TypeError):
        OPERATIONS.all(pk=str(order.pk))
    with pytest.raises(TypeError):
        OPERATIONS.all(pk=Decimal(order.pk))
    with pytest.raises(TypeError):
        OPERATIONS.all(id=order.pk)


def _released(start, end):
    return WorkOrder.objects.filter(released_at__gte=start, released_at__lt=end).order_by("released_at")


RELEASED = Compiled(lambda start, end: _released(start, end).values_list("pk", "released_at"), "start", "end")
NUMBERS = Compiled(lambda start, end: _released(start, end).values_list("number", flat=True), "start", "end")
NAMED = Compiled(
    lambda start, end: _released(start, end).values_list("pk", "number", named=True), "start", "end"
)
# A list for an `__in`, with a whole number beside it, and an `__in` that may be empty in an OR.
BY_KEYS = Compiled(
    lambda ids, order_id: (
        WorkOrderOperation.objects.filter(Q(pk__in=ids) | Q(work_order_id=order_id))
        .order_by("pk")
        .values_list("pk", flat=True)
    ),
    "ids",
    "order_id",
)
T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Europe moves its clocks


@pytest.fixture
def released(supervisor):
    orders = [released_order(user=supervisor) for _ in range(3)]
    for hours, order in enumerate(orders):
        WorkOrder.objects.filter(pk=order.pk).update(released_at=T0 + timedelta(hours=hours, microseconds=7))
    return orders


@pytest.mark.django_db
def test_values_list_comes_as_the_queryset_gives_it_tuples_single_values_or_named(released):
    start, end = T0 - timedelta(minutes=1), T0 + timedelta(hours=1, minutes=1)
    rows = RELEASED.all(start=start, end=end)
    assert rows == list(_released(start, end).values_list("pk", "released_at"))
    assert [pk for pk, _ in rows] == [o.pk for o in released[:2]]
    assert rows[0][1] == T0 + timedelta(microseconds=7) and rows[0][1].utcoffset() == timedelta(0)
    assert NUMBERS.all(start=start, end=end) == [o.number for o in released[:2]]
    named = NAMED.all(start=start, end=end)
    assert named == list(_released(start, end).values_list("pk", "number", named=True))
    assert named[1].number == released[1].number


@pytest.mark.django_db
def test_a_time_argument_is_taken_at_its_instant_whatever_its_zone(released):
    berlin = ZoneInfo("Europe/Berlin")
    for start, end in [
        (T0, T0 + timedelta(hours=1)),  # the bounds themselves: >= keeps the first, < drops the second
        (T0 + timedelta(microseconds=8), T0 + timedelta(hours=3)),
        ((T0 + timedelta(minutes=30)).astimezone(berlin), (T0 + timedelta(hours=2)).astimezone(berlin)),
        (T0 + timedelta(days=1), T0 + timedelta(days=2)),
    ]:
        assert RELEASED.all(start=start, end=end) == list(
            _released(start, end).values_list("pk", "released_at")
        ), (start, end)
    with pytest.raises(TypeError, match="aware"):
        RELEASED.all(start=datetime(2026, 3, 29), end=T0)


@pytest.mark.django_db
def test_a_list_argument_is_read_as_a_set_and_compiled_once_per_size_rounded_up(order):
    ops = list(order.operations.order_by("pk").values_list("pk", flat=True))
    other = order.pk + 1000
    for ids in ([], [ops[0]], [ops[1], ops[1]], [ops[1], ops[0], ops[1]], (ops[0], ops[1] + 1000, ops[1])):
        expected = list(
            WorkOrderOperation.objects.filter(Q(pk__in=ids) | Q(work_order_id=other))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        assert BY_KEYS.all(ids=ids, order_id=other) == expected, ids
    assert BY_KEYS.all(ids=[], order_id=order.pk) == ops
    assert BY_KEYS.sql(ids=[1, 2, 3], order_id=0) == BY_KEYS.sql(ids=[1, 2, 3, 4], order_id=0)
    assert BY_KEYS.sql(ids=[1, 2], order_id=0) != BY_KEYS.sql(ids=[1, 2, 3], order_id=0)
    with pytest.raises(TypeError):
        BY_KEYS.all(ids=[ops[0], None], order_id=other)


@pytest.mark.django_db
def test_a_builder_that_computes_from_its_arguments_or_reads_the_clock_is_refused(order):
    shifted = Compiled(
        lambda start: WorkOrder.objects.filter(released_at__lte=start + timedelta(seconds=60)), "start"
    )
    with pytest.raises(ValueError, match="arguments"):
        shifted.all(start=T0)
    clocked = Compiled(lambda pk: WorkOrder.objects.filter(pk=pk, created_at__lte=datetime.now(UTC)), "pk")
    with pytest.raises(ValueError, match="arguments"):
        clocked.all(pk=order.pk)


@pytest.mark.django_db
def test_update_row_writes_what_a_queryset_update_writes(order):
    op = order.operations.order_by("sequence").first()
    assert (
        update_row(WorkOrderOperation, op.pk, {"quantity_good": Decimal("2.500"), "status": "running"}) == 1
    )
    op.refresh_from_db()
    assert (op.quantity_good, op.status) == (Decimal("2.5"), "running")
    assert update_row(WorkOrderOperation, op.pk + 1000, {"quantity_good": Decimal(1)}) == 0


def _event(order, user, key):
    op = order.operations.order_by("sequence").first()
    return ProductionEvent(
        kind="complete",
        idempotency_key=key,
        request_fingerprint="f" * 64,
        work_order=order,
        operation=op,
        workstation=op.workstation,
        line_id=op.workstation.line_id,
        user=user,
        quantity=Decimal("3"),
        data={"source": "tablet"},
        occurred_at=order.created_at,
    )


def _stored(event):
    fields = [
        f.attname for f in ProductionEvent._meta.concrete_fields if f.name not in ("id", "idempotency_key")
    ]
    return ProductionEvent.objects.filter(pk=event.pk).values(*fields).get()


@pytest.mark.django_db
def test_insert_row_stores_what_save_stores_and_reads_back_the_key(order, supervisor):
    saved = _event(order, supervisor, uuid.uuid4())
    saved.save()
    inserted = _event(order, supervisor, uuid.uuid4())
    inserted.recorded_at = None
    insert_row(inserted)

    assert inserted.pk is not None and inserted.pk != saved.pk
    assert not inserted._state.adding and inserted._state.db == "default"
    assert inserted.recorded_at is not None  # the auto_now_add field, filled as save() fills it
    got, want = _stored(inserted), _stored(saved)
    assert got.pop("recorded_at") >= want.pop("recorded_at")
    assert got == want


@pytest.mark.django_db
def test_a_refused_insert_raises_and_leaves_nothing(order, supervisor):
    key = uuid.uuid4()
    insert_row(_event(order, supervisor, key))
    count = ProductionEvent.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_row(_event(order, supervisor, uuid.uuid4()))
        insert_row(_event(order, supervisor, key))  # the same idempotency key
    assert ProductionEvent.objects.count() == count


@pytest.mark.django_db
def test_a_model_with_save_signals_is_saved_by_save_unless_the_caller_says_none_must_hear(db):
    heard = ReasonCode(code="JAM", name="Jam", kind="scrap")
    insert_row(heard)
    assert heard.history.count() == 1  # simple-history's post_save wrote its row

    silent = ReasonCode(code="DUST", name="Dust", kind="scrap")
    with CaptureQueriesContext(connection) as queries:
        insert_row(silent, signals=False)
    assert len(queries) == 1 and ReasonCode.objects.filter(pk=silent.pk, code="DUST").exists()
    assert silent.history.count() == 0

    with pytest.raises(ValueError, match="save"):  # an existing row: save() would send its signals
        insert_row(silent, signals=False)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL keeps prepared statements")
def test_on_postgresql_a_statement_run_again_is_prepared_on_its_connection(order):
    op = order.operations.order_by("sequence").first()
    table = '"workorders_workorderoperation"'

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall() if table in row[0] and "$1" in row[0]]

    before = len(prepared())
    for _ in range(3):
        assert [found.pk for found in OPERATIONS.all(pk=op.pk)] == [op.pk]
    assert len(prepared()) == before + 1  # planned once from now on, whatever the key
    OPERATIONS.all(pk=op.pk + 1)
    assert len(prepared()) == before + 1


def test_a_list_of_ids_is_read_without_repeats_and_filled_to_a_power_of_two():
    assert padded_ids([5, 3, 5, 9]) == [5, 3, 9, 9]
    assert padded_ids([7]) == [7]
    assert padded_ids([1, 2, 3, 4, 5]) == [1, 2, 3, 4, 5, 5, 5, 5]
    assert padded_ids([]) == []
