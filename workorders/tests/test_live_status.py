"""The live status projection: kept by the event handler, equal to its rebuild, sequence per line."""

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from mes import roles
from mes.errors import Conflict
from mes.models import Shift
from mes.tests.factories import WorkstationFactory
from workorders import services
from workorders.live.models import AndonCall, LineStatus, WorkstationStatus
from workorders.live.projection import PROJECTED_FIELDS, rebuild_line_status
from workorders.live.selectors import line_snapshot, line_summaries, row_oee, status_window
from workorders.live.states import AndonStatus, LiveState
from workorders.models import ReasonCode
from workorders.selectors.oee import oee_for_line
from workorders.services.andon import andon_acknowledge, andon_raise, andon_resolve
from workorders.tests.factories import key, released_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def all_day_shift(site):
    # A shift covering the whole test run keeps "this shift" simple to reason about.
    Shift.objects.create(
        site=site, name="Day", start_time=time(0, 0), end_time=time(0, 0), weekdays="1234567"
    )


def snapshot_rows():
    return {
        r.pk: {f: getattr(r, f) for f in PROJECTED_FIELDS} for r in WorkstationStatus.objects.order_by("pk")
    }


def test_events_update_the_workstation_and_raise_the_line_sequence(
    reasons, supervisor, operator, workstation, all_day_shift, django_capture_on_commit_callbacks
):
    order = released_order(user=supervisor, workstations=[workstation], quantity=5)
    op = order.operations.get()
    common = {"operation_id": op.pk, "workstation": workstation, "user": operator}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.operation_start(key=key(), **common)
        services.operation_record_good(quantity=3, key=key(), **common)
        services.operation_record_scrap(quantity=1, reason="SCRATCH", key=key(), **common)
    assert len(callbacks) >= 3
    row = WorkstationStatus.objects.get(pk=workstation.pk)
    assert row.state == LiveState.RUNNING
    assert row.operation_id == op.pk and row.work_order_id == order.pk
    assert (row.good, row.scrap) == (Decimal(3), Decimal(1))
    seq = LineStatus.objects.get(pk=workstation.line_id).sequence
    with django_capture_on_commit_callbacks(execute=True):
        services.downtime_start(workstation=workstation, user=operator, reason="JAM", key=key())
    row.refresh_from_db()
    assert row.state == LiveState.DOWN and row.downtime_reason.code == "JAM"
    assert LineStatus.objects.get(pk=workstation.line_id).sequence == seq + 1
    services.downtime_end(workstation=workstation, user=operator, key=key())
    services.operation_record_good(quantity=2, key=key(), **common)  # the order is done
    row.refresh_from_db()
    assert row.state == LiveState.IDLE and row.operation_id is None
    assert row.stop_seconds >= 0


def test_a_retried_event_does_not_raise_the_sequence_again(
    reasons, supervisor, operator, workstation, django_capture_on_commit_callbacks
):
    order = released_order(user=supervisor, workstations=[workstation], quantity=5)
    op = order.operations.get()
    k = key()
    with django_capture_on_commit_callbacks(execute=True):
        services.operation_start(operation_id=op.pk, workstation=workstation, user=operator, key=k)
    seq = LineStatus.objects.get(pk=workstation.line_id).sequence
    assert seq > 0
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.operation_start(operation_id=op.pk, workstation=workstation, user=operator, key=k)
    assert callbacks == []
    assert LineStatus.objects.get(pk=workstation.line_id).sequence == seq


def test_rebuild_equals_live(reasons, supervisor, operator, workstation, all_day_shift):
    second = WorkstationFactory(line=workstation.line, code="MILL1")
    order = released_order(user=supervisor, workstations=[workstation, second], quantity=4)
    first_op, second_op = order.operations.order_by("sequence")
    services.operation_start(operation_id=first_op.pk, workstation=workstation, user=operator, key=key())
    services.operation_record_good(
        operation_id=first_op.pk, workstation=workstation, user=operator, quantity=4, key=key()
    )
    services.operation_start(operation_id=second_op.pk, workstation=second, user=operator, key=key())
    services.operation_record_good(
        operation_id=second_op.pk, workstation=second, user=operator, quantity=1, key=key()
    )
    services.operation_pause(
        operation_id=second_op.pk, workstation=second, user=operator, reason="BREAK", key=key()
    )
    services.downtime_start(workstation=workstation, user=operator, reason="PM", key=key())
    services.workorder_transition(
        work_order_id=order.pk,
        target="on_hold",
        user=supervisor,
        key=key(),
        reason="Check",
        reason_code="QHOLD",
    )
    andon_raise(workstation=second, user=operator, kind="material", key=key())
    live = snapshot_rows()
    assert live[second.pk]["state"] == LiveState.BLOCKED  # its order is on hold
    assert live[workstation.pk]["state"] == LiveState.SETUP  # planned maintenance
    assert live[second.pk]["andon_open"] == 1
    before = LineStatus.objects.filter(pk=workstation.line_id).values_list("sequence", flat=True).first() or 0
    WorkstationStatus.objects.update(good=99, state=LiveState.OFFLINE)  # damage it
    rebuild_line_status()
    assert snapshot_rows() == live
    assert LineStatus.objects.get(pk=workstation.line_id).sequence > before
    services.rebuild_projections()  # the projections' rebuild includes line status
    assert snapshot_rows() == live


def test_snapshot_oee_matches_the_oee_selector_during_a_shift(
    reasons, supervisor, operator, workstation, all_day_shift
):
    order = released_order(user=supervisor, workstations=[workstation], quantity=50)
    op = order.operations.get()
    common = {"operation_id": op.pk, "workstation": workstation, "user": operator}
    services.operation_start(key=key(), **common)
    services.operation_record_good(quantity=2, key=key(), **common)
    services.operation_record_scrap(quantity=1, reason="SCRATCH", key=key(), **common)
    services.downtime_start(workstation=workstation, user=operator, reason="JAM", key=key())
    now = timezone.now()
    window = status_window(workstation.line.site, now)
    line = workstation.line
    summary = line_summaries([line], now=now)[0]
    expected = oee_for_line(line, window.start, now, now=now)
    assert summary["good"] == "2" and summary["scrap"] == "1"
    assert summary["oee"]["quality"] == round(expected.quality * 100, 1)
    assert summary["oee"]["availability"] == round(expected.availability * 100, 1)
    ws = summary["workstations"][0]
    assert ws["downtime"]["reason"] == "Jam" and ws["state"] == "down"
    assert row_oee(WorkstationStatus.objects.get(pk=workstation.pk), window, now).good == 2


def test_counts_from_an_earlier_shift_window_read_as_zero(reasons, supervisor, operator, workstation, site):
    Shift.objects.create(site=site, name="Early", start_time=time(6), end_time=time(14), weekdays="1234567")
    order = released_order(user=supervisor, workstations=[workstation], quantity=50)
    op = order.operations.get()
    services.operation_start(operation_id=op.pk, workstation=workstation, user=operator, key=key())
    services.operation_record_good(
        operation_id=op.pk, workstation=workstation, user=operator, quantity=3, key=key()
    )
    row = WorkstationStatus.objects.get(pk=workstation.pk)
    later = row.window_end + timedelta(hours=1)
    summary = line_summaries([workstation.line], now=later)[0]
    assert summary["good"] == "0"


def test_an_andon_key_belongs_to_the_person_and_the_call_it_raised(operator, make_user, workstation):
    k = key()
    call = andon_raise(workstation=workstation, user=operator, kind="material", key=k, note=" bins ")
    assert (
        andon_raise(workstation=workstation, user=operator, kind="material", key=k, note="bins").pk == call.pk
    )
    other = make_user(roles.OPERATOR, username="otto")
    with pytest.raises(Conflict) as taken:
        andon_raise(workstation=workstation, user=other, kind="material", key=k, note="bins")
    assert taken.value.field == "idempotency_key" and taken.value.code == "key_of_another"
    with pytest.raises(Conflict) as reused:
        andon_raise(workstation=workstation, user=operator, kind="quality", key=k)
    assert reused.value.code == "key_reused"
    assert AndonCall.objects.count() == 1


def test_andon_raise_is_idempotent_and_records_response_and_resolution(
    supervisor, operator, workstation, django_capture_on_commit_callbacks
):
    k = key()
    with django_capture_on_commit_callbacks(execute=True):
        call = andon_raise(workstation=workstation, user=operator, kind="quality", key=k)
    assert andon_raise(workstation=workstation, user=operator, kind="quality", key=k).pk == call.pk
    assert andon_raise(workstation=workstation, user=operator, kind="quality", key=key()).pk == call.pk
    assert AndonCall.objects.count() == 1
    assert WorkstationStatus.objects.get(pk=workstation.pk).andon_open == 1
    call = andon_acknowledge(call_id=call.pk, user=supervisor)
    assert call.status == AndonStatus.ACKNOWLEDGED and call.response_seconds >= 0
    assert andon_acknowledge(call_id=call.pk, user=supervisor).acknowledged_at == call.acknowledged_at
    call = andon_resolve(call_id=call.pk, user=supervisor)
    assert call.resolution_seconds >= call.response_seconds
    assert WorkstationStatus.objects.get(pk=workstation.pk).andon_open == 0
    assert call.history.count() == 3
    snap = line_snapshot(workstation.line)
    assert snap["lines"][0]["andon"] == []


def test_answers_recorded_afterwards_keep_their_times_and_history(supervisor, operator, workstation):
    from datetime import timedelta

    from django.utils import timezone

    from mes.errors import ValidationFailed

    raised = timezone.now() - timedelta(minutes=30)
    call = andon_raise(workstation=workstation, user=operator, kind="material", key=key(), raised_at=raised)
    for wrong in (raised - timedelta(minutes=1), timezone.now() + timedelta(minutes=5)):
        with pytest.raises(ValidationFailed) as refused:
            andon_acknowledge(call_id=call.pk, user=supervisor, at=wrong)
        assert refused.value.field == "at"
    assert AndonCall.objects.get(pk=call.pk).status == AndonStatus.OPEN  # nothing written

    andon_acknowledge(call_id=call.pk, user=supervisor, at=raised + timedelta(minutes=4))
    with pytest.raises(ValidationFailed):  # before it was acknowledged
        andon_resolve(call_id=call.pk, user=supervisor, at=raised + timedelta(minutes=2))
    call = andon_resolve(call_id=call.pk, user=supervisor, at=raised + timedelta(minutes=20))
    assert (call.response_seconds, call.resolution_seconds) == (240, 1200)
    assert [h.history_change_reason for h in call.history.order_by("history_id")] == [
        "Raised from the tablet",
        "Acknowledged",
        "Resolved",
    ]


def test_an_operator_may_not_acknowledge(operator, workstation):
    from mes.errors import Forbidden

    call = andon_raise(workstation=workstation, user=operator, kind="help", key=key())
    with pytest.raises(Forbidden):
        andon_acknowledge(call_id=call.pk, user=operator)


def test_a_supervisor_of_another_site_may_not_acknowledge(make_user, operator, workstation):
    from mes.errors import Forbidden
    from mes.tests.factories import SiteFactory

    other = make_user(roles.SUPERVISOR, username="otto", site=SiteFactory(code="PLANT2"))
    call = andon_raise(workstation=workstation, user=operator, kind="help", key=key())
    with pytest.raises(Forbidden):
        andon_resolve(call_id=call.pk, user=other)


def test_a_line_summary_reads_a_fixed_number_of_queries_whatever_its_stations_work_on(
    reasons,
    supervisor,
    operator,
    workstation,
    all_day_shift,
    django_assert_num_queries,
    django_assert_max_num_queries,
):
    """Summaries load only the columns they show; a column they show but don't load would cost a
    query per workstation."""

    def working_station(code):
        station = WorkstationFactory(line=workstation.line, code=code)
        order = released_order(user=supervisor, workstations=[station], quantity=5)
        op = order.operations.get()
        services.operation_start(operation_id=op.pk, workstation=station, user=operator, key=key())
        services.operation_record_good(
            operation_id=op.pk, workstation=station, user=operator, quantity=2, key=key()
        )
        services.downtime_start(workstation=station, user=operator, reason="JAM", key=key())
        return order

    working_station("A1")
    line = type(workstation.line).objects.select_related("site").get(pk=workstation.line_id)
    with django_assert_max_num_queries(7) as one:  # statuses, stations, andon, open orders, shifts, figures
        (summary,) = line_summaries([line])
    orders = [working_station(f"B{i}") for i in range(4)]
    with django_assert_num_queries(len(one.captured_queries)):
        (summary,) = line_summaries([line])
    stations = {s["code"]: s for s in summary["workstations"]}
    assert stations["B3"]["order"] == orders[-1].number
    assert stations["B3"]["operation"].endswith(orders[-1].operations.get().name)
    assert stations["B3"]["downtime"]["reason"] == ReasonCode.objects.get(code="JAM").name
    assert summary["order"]["product"] == orders[-1].product.part_number
