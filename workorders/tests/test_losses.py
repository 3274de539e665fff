"""The six big losses, the OEE loss waterfall and the Pareto of reasons, checked against a shift
worked out by hand.

The scenario runs in a UTC site with one 8-hour shift starting at `t0`, a whole hour about ten
hours ago (so every ledger time lies within the services' backdating limit), at one workstation
with an ideal cycle of 30 s:

    1:00  scrap 20, STARTUP (reduced yield)
    2:00-3:00  JAM (small stop)                      60 min
    3:00  good 350
    4:00-4:30  PM (planned)                          not planned production time
    5:00-5:30  BREAKDOWN (breakdown)                 30 min
    5:15-6:00  TOOL-CHANGE (setup), booked late      30 min (5:15-5:30 is the breakdown's)
    5:00  scrap 40, SCRATCH (no loss: process defect)
    7:00  good 150

Planned time 480 - 30 = 450 min; stops 120 min, run 330 min; ideal 560 x 30 s = 280 min, so
performance loss 50 min; quality 500 / 560, quality loss 280 x 60 / 560 = 30 min (20 for SCRATCH's
40 units, 10 for STARTUP's 20); good time 250 min = 450 x OEE.
"""

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mes import roles
from mes.models import Shift
from mes.tests.factories import LineFactory, SiteFactory, WorkstationFactory
from workorders import services
from workorders.selectors.losses import losses_for_line, losses_for_workstation, pareto, period_window
from workorders.states import Loss, ReasonKind
from workorders.tests.factories import ReasonCodeFactory, key, released_order, routing_with

MIN = 60.0


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
    return Shift.objects.create(
        site=utc_site, name="Early", start_time=t0.time(), end_time=at(t0, 8).time(), weekdays="1234567"
    )


@pytest.fixture
def station(utc_site):
    return WorkstationFactory(line__site=utc_site, code="M1")


@pytest.fixture
def loss_reasons(reasons):
    ReasonCodeFactory(code="BREAKDOWN", name="Breakdown", kind=ReasonKind.DOWNTIME, loss=Loss.BREAKDOWN)
    ReasonCodeFactory(code="TOOL-CHANGE", name="Tool change", kind=ReasonKind.DOWNTIME, loss=Loss.SETUP)
    ReasonCodeFactory(code="STARTUP", name="Start-up reject", kind=ReasonKind.SCRAP, loss=Loss.REDUCED_YIELD)
    return reasons


@pytest.fixture
def worked_shift(shift, station, supervisor, operator, loss_reasons, t0):
    """The shift of the module docstring, booked through the services."""
    routing = routing_with([station], cycle=Decimal("30"))
    order = released_order(user=supervisor, routing=routing, quantity=1000)
    operation = order.operations.get()
    common = {"operation_id": operation.pk, "workstation": station, "user": operator}
    services.operation_start(**common, key=key(), occurred_at=at(t0, -2))
    services.operation_record_good(
        **common, quantity=5, key=key(), occurred_at=at(t0, -1.5)
    )  # before the window
    services.operation_record_scrap(**common, quantity=20, reason="STARTUP", key=key(), occurred_at=at(t0, 1))
    services.operation_record_good(**common, quantity=350, key=key(), occurred_at=at(t0, 3))
    services.operation_record_scrap(**common, quantity=40, reason="SCRATCH", key=key(), occurred_at=at(t0, 5))
    services.operation_record_good(**common, quantity=150, key=key(), occurred_at=at(t0, 7))
    for reason, start, end in [
        ("JAM", 2, 3),
        ("PM", 4, 4.5),
        ("BREAKDOWN", 5, 5.5),
        ("TOOL-CHANGE", 5.25, 6),
    ]:
        services.downtime_start(
            workstation=station, user=operator, reason=reason, key=key(), occurred_at=at(t0, start)
        )
        services.downtime_end(workstation=station, user=operator, key=key(), occurred_at=at(t0, end))
    return station


@pytest.fixture
def viewer(make_user, utc_site):
    return make_user(roles.SUPERVISOR, username="vera", site=utc_site)


EXPECTED_LOSSES = {
    Loss.BREAKDOWN: 30,
    Loss.SETUP: 30,
    Loss.SMALL_STOP: 60,
    Loss.REDUCED_SPEED: 50,
    Loss.PROCESS_DEFECT: 20,
    Loss.REDUCED_YIELD: 10,
}
EXPECTED_WATERFALL = [
    ("planned", 450),
    ("availability", 120),
    ("performance", 50),
    ("quality", 30),
    ("good", 250),
]


def test_a_hand_computed_shift(worked_shift, t0):
    report = losses_for_line(worked_shift.line, at(t0, -1), at(t0, 9))

    assert {loss: seconds / MIN for loss, seconds in report.losses.items()} == pytest.approx(EXPECTED_LOSSES)
    assert [(step, seconds / MIN) for step, seconds in report.waterfall] == [
        (step, pytest.approx(minutes)) for step, minutes in EXPECTED_WATERFALL
    ]
    # The same OEE as the OEE selector: good time is planned time x OEE.
    assert report.oee.oee == pytest.approx(250 / 450)
    assert report.good_seconds == pytest.approx(report.oee.planned_seconds * report.oee.oee)
    assert sum(report.losses.values()) == pytest.approx(report.oee.planned_seconds - report.good_seconds)
    assert [(r.code, r.value / MIN, r.share, r.cumulative) for r in report.downtime_pareto] == [
        ("JAM", 60, 0.5, 0.5),
        ("BREAKDOWN", 30, 0.25, 0.75),  # a tie is ordered by code
        ("TOOL-CHANGE", 30, 0.25, 1.0),
    ]
    assert [(r.code, r.value) for r in report.scrap_pareto] == [("SCRATCH", 40), ("STARTUP", 20)]
    assert [round(r.cumulative, 4) for r in report.scrap_pareto] == [0.6667, 1.0]


def test_a_workstation_gives_the_figures_of_its_line_when_it_is_the_only_one(worked_shift, t0):
    window = (at(t0, 0), at(t0, 8))
    assert (
        losses_for_workstation(worked_shift, *window).as_dict()
        == losses_for_line(worked_shift.line, *window).as_dict()
    )


def test_the_queries_do_not_grow_with_the_events(worked_shift, t0):
    line = type(worked_shift.line).objects.select_related("site").get(pk=worked_shift.line_id)
    with CaptureQueriesContext(connection) as queries:
        losses_for_line(line, at(t0, 0), at(t0, 8))
    assert len(queries) <= 7


def test_pareto_ranks_by_value_with_running_share():
    rows = pareto({("B", "b"): 1.0, ("A", "a"): 3.0, ("C", "c"): 0.0})
    assert [(r.code, r.share, r.cumulative) for r in rows] == [("A", 0.75, 0.75), ("B", 0.25, 1.0)]


def test_periods_follow_the_sites_calendar(db):
    site = SiteFactory(code="BER", time_zone="Europe/Berlin")

    def local(moment):
        assert moment.utcoffset() == timedelta(0)  # UTC, so subtraction counts real time
        return moment.astimezone(site.tzinfo).isoformat()

    night = Shift(
        site=site,
        name="Night",
        start_time=datetime.min.time().replace(hour=22),
        end_time=datetime.min.time().replace(hour=6),
    )
    day = datetime(2026, 3, 28).date()  # a Saturday, the night before summer time begins
    start, end = period_window(site, "day", day)
    assert (local(start), local(end)) == ("2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00")
    start, end = period_window(site, "week", day)
    assert (local(start), local(end)) == ("2026-03-23T00:00:00+01:00", "2026-03-30T00:00:00+02:00")
    start, end = period_window(site, "shift", day, night)
    assert (local(start), local(end)) == ("2026-03-28T22:00:00+01:00", "2026-03-29T06:00:00+02:00")
    assert end - start == timedelta(hours=7)  # the clocks went forward that night


# --- Page, CSV and API ---------------------------------------------------------------------------


def _shift_query(station, shift, t0) -> str:
    return f"line={station.line_id}&period=shift&date={t0.date():%Y-%m-%d}&shift={shift.pk}"


def test_the_api_answers_the_shift_in_minutes(worked_shift, shift, viewer, client_for, t0):
    response = client_for(viewer).get(f"/api/v1/losses/?{_shift_query(worked_shift, shift, t0)}")

    assert response.status_code == 200
    body = response.json()
    assert body["line"] == worked_shift.line_id
    assert body["period"] == "shift"
    assert {row["loss"]: row["minutes"] for row in body["losses"]} == EXPECTED_LOSSES
    assert [(row["step"], row["minutes"]) for row in body["waterfall"]] == EXPECTED_WATERFALL
    assert body["oee"]["oee"] == 0.5556
    assert body["downtime_pareto"][0] == {
        "code": "JAM",
        "name": "Jam",
        "minutes": 60.0,
        "share": 0.5,
        "cumulative": 0.5,
    }
    assert body["scrap_pareto"][1] == {
        "code": "STARTUP",
        "name": "Start-up reject",
        "units": 20.0,
        "share": 0.3333,
        "cumulative": 1.0,
    }


def test_the_page_shows_the_charts_and_the_csv_holds_the_figures(worked_shift, shift, viewer, client_for, t0):
    client = client_for(viewer)
    query = _shift_query(worked_shift, shift, t0)

    page = client.get(f"/losses/?{query}")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'aria-label="OEE loss waterfall"' in html
    assert "Pareto of downtime reasons" in html and "Pareto of scrap reasons" in html
    assert "OEE 55.6 %" in html
    assert "style=" not in html.split("<main", 1)[1]  # nothing the Content-Security-Policy forbids

    export = client.get(f"/losses/export.csv?{query}")
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0] == ["section", "item", "name", "minutes", "units", "share", "cumulative"]
    assert ["loss", "small_stop", "Idling and minor stops", "60.0", "", "", ""] in rows
    assert ["waterfall", "good", "Good time", "250.0", "", "", ""] in rows
    assert ["scrap", "SCRATCH", "Scratched surface", "", "40.0", "0.6667", "0.6667"] in rows


def test_the_page_without_a_query_shows_the_first_line_of_the_persons_sites(worked_shift, viewer, client_for):
    other = LineFactory(site=SiteFactory(code="FAR"), code="ZZ-OTHER")
    html = client_for(viewer).get("/losses/").content.decode()
    assert worked_shift.line.name in html
    assert other.name not in html


@pytest.mark.parametrize("url", ["/losses/", "/losses/export.csv", "/api/v1/losses/"])
def test_another_sites_line_or_workstation_is_not_found(url, viewer, client_for, utc_site):
    elsewhere = WorkstationFactory(line__site=SiteFactory(code="FAR"))
    client = client_for(viewer)
    assert client.get(f"{url}?line={elsewhere.line_id}").status_code == 404
    assert client.get(f"{url}?workstation={elsewhere.pk}").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("period=month", "period"),
        ("line=abc", "line"),
        ("line=0", "line"),
        ("workstation=9999999999999999999999", "workstation"),
        ("date=2026-02-31", "date"),
        ("period=shift", "shift"),
        ("period=shift&shift=abc", "shift"),
        ("date=9999-12-31&period=week", "date"),
    ],
)
def test_bad_input_is_refused_naming_the_field(query, field, station, shift, viewer, client_for):
    client = client_for(viewer)
    api = client.get(f"/api/v1/losses/?{query}")
    assert api.status_code == 400
    assert field in api.json()["errors"]
    page = client.get(f"/losses/?{query}")
    assert page.status_code == 400
    assert f'data-field="{field}"' in page.content.decode()
    assert client.get(f"/losses/export.csv?{query}").content.decode().startswith(f"{field}:")


def test_another_sites_shift_is_refused(station, viewer, client_for):
    far = Shift.objects.create(
        site=SiteFactory(code="FAR"),
        name="Late",
        start_time=datetime.min.time(),
        end_time=datetime.min.time(),
    )
    response = client_for(viewer).get(f"/api/v1/losses/?line={station.line_id}&period=shift&shift={far.pk}")
    assert response.status_code == 400
    assert "shift" in response.json()["errors"]


def test_a_workstation_of_the_line_narrows_the_page_and_one_of_another_line_is_refused(
    worked_shift, shift, viewer, client_for, t0
):
    client = client_for(viewer)
    query = _shift_query(worked_shift, shift, t0)
    page = client.get(f"/losses/?{query}&workstation={worked_shift.pk}")
    assert page.status_code == 200
    assert f'<option value="{worked_shift.pk}" selected>' in page.content.decode()
    elsewhere = WorkstationFactory(line__site=worked_shift.line.site)
    response = client.get(f"/api/v1/losses/?{query}&workstation={elsewhere.pk}")
    assert response.status_code == 400
    assert "workstation" in response.json()["errors"]
