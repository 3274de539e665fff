"""OEE: planned time from the shift calendar, downtime as intervals, counts from the ledger.

Scenarios run in a UTC site with one 8-hour shift starting at `t0`, a whole hour about ten
hours ago, so every ledger time lies within the services' 24-hour backdating limit and the
expected figures can be worked out by hand.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mes.models import Line, Shift
from mes.tests.factories import SiteFactory, WorkstationFactory
from workorders import services
from workorders.selectors import (
    Oee,
    intersect_intervals,
    interval_seconds,
    merge_intervals,
    oee_by_workstation,
    oee_for_line,
    oee_for_workstation,
    subtract_intervals,
)
from workorders.tests.factories import key, released_order, routing_with

SHIFT = 8 * 3600.0
HOUR = 3600.0


# --- Interval helpers ---------------------------------------------------------------------------

B = datetime(2025, 3, 3, tzinfo=UTC)


def iv(lo: float, hi: float):
    """An interval from hour `lo` to hour `hi` after B."""
    return (B + timedelta(hours=lo), B + timedelta(hours=hi))


def test_merge_joins_overlapping_and_touching_intervals_and_drops_empty_ones():
    assert merge_intervals([iv(5, 6), iv(1, 3), iv(2, 4), iv(4, 4.5), iv(7, 7), iv(8, 7)]) == [
        iv(1, 4.5),
        iv(5, 6),
    ]
    assert merge_intervals([iv(1, 5), iv(2, 3)]) == [iv(1, 5)]
    assert merge_intervals([]) == []


def test_intersect_keeps_only_time_in_both():
    shifts = [iv(0, 8), iv(16, 24)]
    downtime = [iv(-1, 1), iv(7, 17), iv(10, 11), iv(23, 25)]
    assert intersect_intervals(downtime, shifts) == [iv(0, 1), iv(7, 8), iv(16, 17), iv(23, 24)]
    assert intersect_intervals([iv(0, 1)], [iv(1, 2)]) == []


def test_subtract_cuts_holes_and_edges():
    assert subtract_intervals([iv(0, 8)], [iv(2, 3), iv(5, 6)]) == [iv(0, 2), iv(3, 5), iv(6, 8)]
    assert subtract_intervals([iv(0, 8)], [iv(-1, 1), iv(7, 9)]) == [iv(1, 7)]
    assert subtract_intervals([iv(0, 2), iv(4, 6)], [iv(1, 5)]) == [iv(0, 1), iv(5, 6)]
    assert subtract_intervals([iv(0, 8)], [iv(-1, 9)]) == []
    assert subtract_intervals([iv(0, 8)], []) == [iv(0, 8)]


def test_interval_seconds_counts_overlaps_once():
    assert interval_seconds([iv(0, 1), iv(0.5, 1.5), iv(3, 4)]) == 2.5 * HOUR


def test_oee_ratios_are_none_instead_of_dividing_by_zero():
    empty = Oee.from_parts(
        planned_seconds=0,
        stop_seconds=0,
        planned_downtime_seconds=0,
        ideal_seconds=0,
        good=Decimal(0),
        scrap=Decimal(0),
    )
    assert (empty.availability, empty.performance, empty.quality, empty.oee) == (None, None, None, None)
    all_stopped = Oee.from_parts(
        planned_seconds=100,
        stop_seconds=100,
        planned_downtime_seconds=0,
        ideal_seconds=0,
        good=Decimal(1),
        scrap=Decimal(0),
    )
    assert all_stopped.availability == 0.0
    assert all_stopped.performance is None
    assert all_stopped.quality == 1.0
    assert all_stopped.oee is None


# --- Scenarios through the real services --------------------------------------------------------


@pytest.fixture
def t0() -> datetime:
    return (timezone.now() - timedelta(hours=10)).replace(minute=0, second=0, microsecond=0)


def at(t0: datetime, hours: float) -> datetime:
    return t0 + timedelta(hours=hours)


@pytest.fixture
def utc_site(db):
    return SiteFactory(code="UTC1", name="Plant in UTC", time_zone="UTC")


@pytest.fixture
def shift(utc_site, t0):
    # Every day, so the scenario does not depend on the weekday the test runs on.
    return Shift.objects.create(
        site=utc_site,
        name="Early",
        start_time=t0.time(),
        end_time=at(t0, 8).time(),
        weekdays="1234567",
    )


@pytest.fixture
def station(utc_site):
    return WorkstationFactory(line__site=utc_site, code="M1")


def running_operation(station, *, supervisor, operator, started, cycle=Decimal("30"), quantity=1000):
    routing = routing_with([station], cycle=cycle)
    order = released_order(user=supervisor, routing=routing, quantity=quantity)
    operation = order.operations.get()
    services.operation_start(
        operation_id=operation.pk, workstation=station, user=operator, key=key(), occurred_at=started
    )
    return operation


def record_good(operation, user, quantity, when):
    services.operation_record_good(
        operation_id=operation.pk,
        workstation=operation.workstation,
        user=user,
        quantity=quantity,
        key=key(),
        occurred_at=when,
    )


def record_scrap(operation, user, quantity, when):
    services.operation_record_scrap(
        operation_id=operation.pk,
        workstation=operation.workstation,
        user=user,
        quantity=quantity,
        reason="SCRATCH",
        key=key(),
        occurred_at=when,
    )


def downtime(station, user, start, end=None, *, reason="JAM"):
    services.downtime_start(workstation=station, user=user, reason=reason, key=key(), occurred_at=start)
    if end is not None:
        services.downtime_end(workstation=station, user=user, key=key(), occurred_at=end)


def test_full_shift_with_known_counts(shift, station, supervisor, operator, reasons, t0):
    operation = running_operation(
        station, supervisor=supervisor, operator=operator, started=at(t0, -2), cycle=Decimal("30")
    )
    record_good(operation, operator, 5, at(t0, -1.5))  # before the window: not counted
    record_good(operation, operator, 350, at(t0, 3))
    record_good(operation, operator, 250, at(t0, 7))
    record_scrap(operation, operator, 40, at(t0, 5))
    downtime(station, operator, at(t0, 2), at(t0, 3))  # unplanned: a stop
    downtime(station, operator, at(t0, 4), at(t0, 4.5), reason="PM")  # planned: not planned time

    # The window is wider than the shift: only shift time is planned production time.
    oee = oee_for_workstation(station, at(t0, -1), at(t0, 9))

    planned, run, ideal = SHIFT - 0.5 * HOUR, SHIFT - 1.5 * HOUR, 640 * 30.0
    assert oee.planned_downtime_seconds == 0.5 * HOUR
    assert oee.planned_seconds == planned
    assert oee.stop_seconds == HOUR
    assert oee.run_seconds == run
    assert oee.ideal_seconds == ideal
    assert (oee.good, oee.scrap, oee.total) == (Decimal(600), Decimal(40), Decimal(640))
    assert oee.availability == pytest.approx(run / planned)  # 0.8667
    assert oee.performance == pytest.approx(ideal / run)  # 0.8205
    assert oee.quality == pytest.approx(600 / 640)  # 0.9375
    assert oee.oee == pytest.approx(run / planned * ideal / run * 600 / 640)
    assert oee.as_dict() == {
        "planned_seconds": 27000.0,
        "run_seconds": 23400.0,
        "stop_seconds": 3600.0,
        "planned_downtime_seconds": 1800.0,
        "ideal_seconds": 19200.0,
        "good": "600",
        "scrap": "40",
        "total": "640",
        "availability": 0.8667,
        "performance": 0.8205,
        "quality": 0.9375,
        "oee": 0.6667,
    }


def test_no_planned_time_gives_none_instead_of_ratios(station, supervisor, operator, reasons, t0):
    # The site has no shifts at all: a weekend, as far as OEE is concerned.
    operation = running_operation(station, supervisor=supervisor, operator=operator, started=at(t0, 0))
    record_good(operation, operator, 10, at(t0, 1))
    downtime(station, operator, at(t0, 2), at(t0, 3))

    oee = oee_for_workstation(station, at(t0, 0), at(t0, 8))

    assert (oee.planned_seconds, oee.run_seconds, oee.stop_seconds) == (0.0, 0.0, 0.0)
    assert oee.availability is None
    assert oee.performance is None
    assert oee.oee is None
    assert oee.quality == 1.0
    assert oee.as_dict()["oee"] is None


def test_downtime_across_a_shift_boundary_counts_only_inside_the_shift(shift, station, operator, reasons, t0):
    downtime(station, operator, at(t0, -0.5), at(t0, 0.5))
    downtime(station, operator, at(t0, 7.5), at(t0, 8.5))

    oee = oee_for_workstation(station, at(t0, -1), at(t0, 9))

    assert oee.planned_seconds == SHIFT
    assert oee.stop_seconds == HOUR
    assert oee.availability == pytest.approx(7 / 8)


def test_overlapping_downtimes_are_counted_once(shift, station, operator, reasons, t0):
    # A tablet that was offline books its stops late, so they can overlap earlier ones.
    downtime(station, operator, at(t0, 1), at(t0, 2))
    downtime(station, operator, at(t0, 1.5), at(t0, 2.5))
    downtime(station, operator, at(t0, 1.25), at(t0, 1.75))

    oee = oee_for_workstation(station, at(t0, 0), at(t0, 8))

    assert oee.stop_seconds == 1.5 * HOUR
    assert oee.run_seconds == SHIFT - 1.5 * HOUR


def test_unplanned_downtime_during_planned_downtime_counts_as_planned(shift, station, operator, reasons, t0):
    downtime(station, operator, at(t0, 1), at(t0, 2), reason="PM")
    downtime(station, operator, at(t0, 1.5), at(t0, 3))

    oee = oee_for_workstation(station, at(t0, 0), at(t0, 8))

    assert oee.planned_downtime_seconds == HOUR
    assert oee.planned_seconds == SHIFT - HOUR
    assert oee.stop_seconds == HOUR  # 2:00-3:00; 1:30-2:00 was already planned down
    assert oee.run_seconds == SHIFT - 2 * HOUR
    assert oee.availability == pytest.approx(6 / 7)


def test_open_downtime_runs_until_now_or_the_window_end(shift, station, operator, reasons, t0):
    downtime(station, operator, at(t0, 7))  # still open

    assert oee_for_workstation(station, at(t0, 0), at(t0, 8), now=at(t0, 7.5)).stop_seconds == 0.5 * HOUR
    # The real now lies after the shift: the window's end bounds it.
    assert oee_for_workstation(station, at(t0, 0), at(t0, 8)).stop_seconds == HOUR


def test_performance_is_capped_at_one(shift, station, supervisor, operator, reasons, t0):
    # 1000 x 60 s ideal is more than the 8 h shift: a wrong ideal cycle must not give OEE > 1.
    operation = running_operation(
        station, supervisor=supervisor, operator=operator, started=at(t0, 0), cycle=Decimal("60")
    )
    record_good(operation, operator, 1000, at(t0, 7))

    oee = oee_for_workstation(station, at(t0, 0), at(t0, 8))

    assert oee.ideal_seconds == 60000.0
    assert oee.performance == 1.0
    assert oee.oee == 1.0


def test_line_oee_adds_up_its_active_workstations(shift, station, supervisor, operator, reasons, t0):
    second = WorkstationFactory(line=station.line, code="M2")
    WorkstationFactory(line=station.line, code="OLD", active=False)  # no planned time of its own
    order = released_order(user=supervisor, routing=routing_with([station, second]), quantity=1000)
    first_op, second_op = order.operations.order_by("sequence")
    for operation in (first_op, second_op):
        services.operation_start(
            operation_id=operation.pk,
            workstation=operation.workstation,
            user=operator,
            key=key(),
            occurred_at=at(t0, 0),
        )
    record_good(first_op, operator, 400, at(t0, 4))
    record_good(second_op, operator, 380, at(t0, 6))
    record_scrap(second_op, operator, 20, at(t0, 6))
    downtime(station, operator, at(t0, 1), at(t0, 2))

    per_station = oee_by_workstation(station.line, at(t0, 0), at(t0, 8))
    line = oee_for_line(station.line, at(t0, 0), at(t0, 8))

    assert set(per_station) == {station.pk, second.pk}
    assert per_station[station.pk].availability == pytest.approx(7 / 8)
    assert per_station[second.pk].availability == 1.0
    assert per_station[second.pk].quality == pytest.approx(380 / 400)
    assert line.planned_seconds == 2 * SHIFT
    assert line.run_seconds == 2 * SHIFT - HOUR
    assert line.ideal_seconds == 800 * 30.0
    assert (line.good, line.scrap, line.total) == (Decimal(780), Decimal(20), Decimal(800))
    assert line.availability == pytest.approx(15 / 16)
    assert line.performance == pytest.approx(24000 / (2 * SHIFT - HOUR))
    assert line.quality == pytest.approx(780 / 800)
    assert line.oee == pytest.approx(line.availability * line.performance * line.quality)


def test_naive_window_is_refused(shift, station):
    with pytest.raises(ValueError):
        oee_for_workstation(station, datetime(2025, 1, 1), datetime(2025, 1, 2))


def test_query_count_does_not_grow_with_events_or_workstations(
    shift, station, supervisor, operator, reasons, t0, django_assert_max_num_queries
):
    def line_oee():
        # A fresh line each time so nothing is served from a cache left by the previous call.
        fresh = Line.objects.get(pk=station.line_id)
        return oee_for_line(fresh, at(t0, 0), at(t0, 8))

    operation = running_operation(station, supervisor=supervisor, operator=operator, started=at(t0, 0))
    record_good(operation, operator, 1, at(t0, 1))
    with CaptureQueriesContext(connection) as few:
        line_oee()
    # The line itself, then its site, workstations, shifts, downtimes and counts.
    assert len(few) <= 6

    # Given three more workstations, forty more events and eight downtimes ...
    others = [WorkstationFactory(line=station.line, code=f"X{i}") for i in range(3)]
    operations = [operation] + [
        running_operation(other, supervisor=supervisor, operator=operator, started=at(t0, 0))
        for other in others
    ]
    for i, op in enumerate(operations):
        for n in range(5):
            record_good(op, operator, 1, at(t0, 1 + n * 0.1))
            record_scrap(op, operator, 1, at(t0, 1 + n * 0.1))
        downtime(op.workstation, operator, at(t0, 2 + i * 0.1), at(t0, 3))
        downtime(op.workstation, operator, at(t0, 4), at(t0, 4.5), reason="PM")

    # ... the line's OEE takes no more queries than before.
    with django_assert_max_num_queries(len(few)):
        many = line_oee()
    assert many.total == Decimal(41)
    assert many.planned_seconds == 4 * (SHIFT - 0.5 * HOUR)


# --- API -----------------------------------------------------------------------------------------


def test_oee_api_answers_the_selector_figures(
    shift, station, supervisor, operator, reasons, t0, make_user, client_for
):
    operation = running_operation(station, supervisor=supervisor, operator=operator, started=at(t0, 0))
    record_good(operation, operator, 100, at(t0, 1))
    downtime(station, operator, at(t0, 2), at(t0, 3))
    client = client_for(make_user("supervisor", site=station.line.site))
    window = {"start": at(t0, 0).isoformat(), "end": at(t0, 8).isoformat()}
    by_station = client.get("/api/v1/oee/", {"workstation": station.pk, **window})
    assert by_station.status_code == 200
    assert by_station.json() == oee_for_workstation(station, at(t0, 0), at(t0, 8)).as_dict()
    by_line = client.get("/api/v1/oee/", {"line": station.line_id, **window})
    assert by_line.json() == oee_for_line(station.line, at(t0, 0), at(t0, 8)).as_dict()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-01-02T00:00:00+00:00", "end": "2026-01-01T00:00:00+00:00"}, "end"),
        ({"start": "2026-01-01T00:00:00", "end": "2026-01-02T00:00:00+00:00"}, "start"),
        ({"start": "soon", "end": "2026-01-02T00:00:00+00:00"}, "start"),
        (
            {"start": "2026-01-01T00:00:00+00:00", "end": "2026-01-02T00:00:00+00:00", "line": "__both__"},
            "workstation",
        ),
    ],
)
def test_oee_api_refuses_a_bad_window_with_the_field(station, make_user, client_for, params, field):
    query = {"workstation": station.pk, **params}
    if query.get("line") == "__both__":
        query["line"] = station.line_id
    response = client_for(make_user("supervisor", site=station.line.site)).get("/api/v1/oee/", query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_oee_api_hides_other_sites(station, make_user, client_for):
    stranger = make_user("supervisor", site=SiteFactory(code="ELSEWHERE"))
    response = client_for(stranger).get(
        "/api/v1/oee/",
        {"workstation": station.pk, "start": "2026-01-01T00:00:00+00:00", "end": "2026-01-02T00:00:00+00:00"},
    )
    assert response.status_code == 404
