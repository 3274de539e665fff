"""The production ledger: each tap counts once, rules are enforced, refusals write nothing."""

from decimal import Decimal

import pytest

from mes import roles
from mes.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from mes.tests.factories import WorkstationFactory
from workorders import services
from workorders.models import Downtime, ProductionEvent, WorkOrder, WorkOrderOperation
from workorders.tests.factories import key, released_order, routing_with


@pytest.fixture
def stations(site):
    first = WorkstationFactory(line__site=site, code="A")
    second = WorkstationFactory(line=first.line, code="B")
    return first, second


@pytest.fixture
def order(supervisor, stations):
    return released_order(user=supervisor, workstations=list(stations), quantity=10)


def ops(order):
    return list(order.operations.order_by("sequence"))


def start(op, user, station=None):
    return services.operation_start(
        operation_id=op.pk, workstation=station or op.workstation, user=user, key=key()
    )


def good(op, user, qty, **kw):
    return services.operation_record_good(
        operation_id=op.pk,
        workstation=op.workstation,
        user=user,
        quantity=qty,
        key=kw.pop("k", None) or key(),
        **kw,
    )


def test_release_copies_the_routing_so_later_edits_do_not_rewrite_it(order):
    first, second = ops(order)
    assert (first.sequence, second.sequence) == (10, 20)
    routing_op = order.routing.operations.first()
    routing_op.name = "Renamed later"
    routing_op.save()
    first.refresh_from_db()
    assert first.name == "Step 1"


def test_first_start_moves_the_order_in_progress(order, operator):
    first, _ = ops(order)
    recorded = start(first, operator)
    order.refresh_from_db()
    first.refresh_from_db()
    assert recorded.event.kind == "start"
    assert first.status == "running"
    assert order.status == "in_progress"
    assert list(order.events.values_list("kind", flat=True)) == ["order_status", "start", "order_status"]


@pytest.mark.requirement("MES-001")
def test_a_retried_tap_counts_once(order, operator):
    first, _ = ops(order)
    start(first, operator)
    tap = key()
    one = good(first, operator, 2, k=tap)
    two = good(first, operator, 2, k=tap)
    assert two.replayed and not one.replayed
    assert two.event.pk == one.event.pk
    first.refresh_from_db()
    assert first.quantity_good == 2
    assert ProductionEvent.objects.filter(kind="complete").count() == 1


def test_a_reused_key_with_another_body_is_refused(order, operator):
    first, _ = ops(order)
    start(first, operator)
    tap = key()
    good(first, operator, 2, k=tap)
    with pytest.raises(Conflict) as refused:
        good(first, operator, 3, k=tap)
    assert refused.value.code == "key_reused"
    first.refresh_from_db()
    assert first.quantity_good == 2


def test_an_operation_cannot_start_before_the_previous_one(order, operator):
    _, second = ops(order)
    with pytest.raises(Conflict) as refused:
        start(second, operator)
    assert refused.value.code == "previous_not_started"
    assert not ProductionEvent.objects.filter(kind="start").exists()


def test_overlap_allowed_by_the_routing(supervisor, operator, stations):
    routing = routing_with(list(stations), allow_overlap=True)
    order = released_order(user=supervisor, routing=routing)
    _, second = ops(order)
    start(second, operator)
    second.refresh_from_db()
    assert second.status == "running"


def test_recording_at_the_wrong_workstation_is_refused(order, operator, stations):
    first, _ = ops(order)
    with pytest.raises(ValidationFailed) as refused:
        start(first, operator, station=stations[1])
    assert refused.value.field == "workstation"


@pytest.mark.parametrize("qty", [0, -1, "abc", "1.5", "0.0001", "NaN"])
def test_bad_quantities_are_refused_and_write_nothing(order, operator, qty):
    first, _ = ops(order)
    start(first, operator)
    before = ProductionEvent.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        good(first, operator, qty)
    assert refused.value.field == "quantity"
    assert ProductionEvent.objects.count() == before


def test_over_completion_needs_a_supervisor_override(order, operator, supervisor):
    first, _ = ops(order)
    start(first, operator)
    good(first, operator, 8)
    with pytest.raises(Conflict) as refused:
        good(first, operator, 5)
    assert refused.value.code == "over_quantity"
    with pytest.raises(Forbidden):
        good(first, operator, 5, override_by=operator)
    recorded = good(first, operator, 5, override_by=supervisor)
    assert recorded.event.override_by == supervisor
    first.refresh_from_db()
    assert first.quantity_good == 13
    assert first.status == "done"


def test_last_operation_reaching_the_quantity_completes_the_order(order, operator):
    first, second = ops(order)
    start(first, operator)
    good(first, operator, 10)
    start(second, operator)
    good(second, operator, 4)
    good(second, operator, 6)
    order.refresh_from_db()
    assert order.status == "completed"
    assert order.quantity_good == 10
    assert order.completed_at is not None


@pytest.mark.requirement("MES-006")
def test_nothing_is_recorded_against_an_order_on_hold(order, operator, supervisor, reasons):
    first, _ = ops(order)
    start(first, operator)
    services.workorder_transition(
        work_order_id=order.pk, target="on_hold", user=supervisor, key=key(), reason_code="QHOLD"
    )
    with pytest.raises(Conflict) as refused:
        good(first, operator, 1)
    assert refused.value.code == "order_on_hold"
    services.workorder_release_hold(work_order_id=order.pk, user=supervisor, key=key())
    order.refresh_from_db()
    assert order.status == "in_progress"
    good(first, operator, 1)


def test_scrap_needs_a_known_scrap_reason(order, operator, reasons):
    first, _ = ops(order)
    start(first, operator)
    for bad in ("NOPE", "BREAK", None):
        with pytest.raises(ValidationFailed) as refused:
            services.operation_record_scrap(
                operation_id=first.pk,
                workstation=first.workstation,
                user=operator,
                quantity=1,
                reason=bad,
                key=key(),
            )
        assert refused.value.field == "reason"
    services.operation_record_scrap(
        operation_id=first.pk,
        workstation=first.workstation,
        user=operator,
        quantity=2,
        reason="SCRATCH",
        key=key(),
    )
    order.refresh_from_db()
    assert order.quantity_scrap == 2


def test_pause_and_resume(order, operator, reasons):
    first, _ = ops(order)
    start(first, operator)
    services.operation_pause(
        operation_id=first.pk, workstation=first.workstation, user=operator, reason="BREAK", key=key()
    )
    first.refresh_from_db()
    assert first.status == "paused"
    with pytest.raises(Conflict):
        good(first, operator, 1)
    services.operation_resume(operation_id=first.pk, workstation=first.workstation, user=operator, key=key())
    first.refresh_from_db()
    assert first.status == "running"


def test_downtime_opens_and_closes_once_per_workstation(stations, operator, reasons):
    station = stations[0]
    services.downtime_start(workstation=station, user=operator, reason="JAM", key=key())
    with pytest.raises(Conflict) as refused:
        services.downtime_start(workstation=station, user=operator, reason="JAM", key=key())
    assert refused.value.code == "downtime_open"
    services.downtime_end(workstation=station, user=operator, key=key())
    downtime = Downtime.objects.get()
    assert downtime.ended_at is not None and downtime.planned is False
    with pytest.raises(Conflict):
        services.downtime_end(workstation=station, user=operator, key=key())


@pytest.mark.requirement("P11-11.10f")
def test_illegal_transitions_are_refused_and_not_applied(order, supervisor):
    with pytest.raises(IllegalTransition):
        services.workorder_transition(work_order_id=order.pk, target="closed", user=supervisor, key=key())
    order.refresh_from_db()
    assert order.status == "released"


def test_a_stale_version_is_refused(order, supervisor):
    with pytest.raises(Conflict) as refused:
        services.workorder_transition(
            work_order_id=order.pk,
            target="cancelled",
            user=supervisor,
            key=key(),
            version=order.version - 1,
            reason="Customer cancelled",
        )
    assert refused.value.code == "stale_version"
    services.workorder_transition(
        work_order_id=order.pk,
        target="cancelled",
        user=supervisor,
        key=key(),
        version=order.version,
        reason="Customer cancelled",
    )
    order.refresh_from_db()
    assert order.status == "cancelled"


@pytest.mark.requirement("P11-11.10e")
def test_order_changes_leave_history_with_who_and_why(order, supervisor):
    services.workorder_update(
        work_order_id=order.pk,
        version=order.version,
        user=supervisor,
        quantity=12,
        reason="Customer wants two more",
    )
    latest = WorkOrder.history.filter(id=order.pk).first()
    assert latest.quantity == Decimal("12")
    assert latest.history_change_reason == "Customer wants two more"
    assert latest.history_user == supervisor


@pytest.mark.requirement("MES-005")
def test_rebuild_equals_live(order, operator, reasons):
    first, second = ops(order)
    start(first, operator)
    good(first, operator, 10)
    start(second, operator)
    good(second, operator, 3)
    services.operation_record_scrap(
        operation_id=second.pk,
        workstation=second.workstation,
        user=operator,
        quantity=1,
        reason="SCRATCH",
        key=key(),
    )
    before = snapshot()
    WorkOrderOperation.objects.update(quantity_good=0, status="pending")
    WorkOrder.objects.update(quantity_good=0, quantity_scrap=0, status="draft")
    services.rebuild_projections()
    assert snapshot() == before


def snapshot():
    fields = ["quantity_good", "quantity_scrap", "status", "started_at", "last_event_at"]
    return (
        list(WorkOrderOperation.objects.order_by("pk").values("pk", *fields)),
        list(
            WorkOrder.objects.order_by("pk").values(
                "pk",
                "quantity_good",
                "quantity_scrap",
                "status",
                "status_before_hold",
                "released_at",
                "started_at",
                "completed_at",
            )
        ),
    )


def test_operator_role_can_record_but_not_override(operator):
    assert operator.has_perm("workorders.record_production")
    assert not operator.has_perm("workorders.override_quantity")
    assert roles.OPERATOR in {g.name for g in operator.groups.all()}


def test_locking_an_operation_tells_whether_it_is_the_last_without_another_query(order):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from workorders.locks import lock_operation

    first, last = ops(order)
    with transaction.atomic():
        with CaptureQueriesContext(connection) as locking:
            _, locked_first = lock_operation(first.pk)
            _, locked_last = lock_operation(last.pk)
        with CaptureQueriesContext(connection) as asking:
            answers = (locked_first.is_last, locked_last.is_last)
    assert answers == (False, True)
    assert len(asking) == 0
    assert len(locking) == 2  # order and operation in one statement, twice
