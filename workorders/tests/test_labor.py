"""Labor: each person's time on each operation, per order and per shift, from the ledger and the
tablet sign-ins; every figure below is worked out by hand from the timeline of its test.

The site runs in UTC with two shifts: Early [B-1h, B+7h) and Late [B+7h, B+15h), where B is a
whole hour 20 hours ago (taps may be recorded at most 24 hours late).
"""

import contextlib
import csv
import io
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from mes import roles
from mes.models import Shift, SignInAttempt
from mes.tests.factories import SiteFactory
from workorders import services
from workorders.selectors.labor import labor_for_order, labor_for_site, labor_record, person_totals
from workorders.tests.factories import key, released_order

H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.fixture
def base():
    return (timezone.now() - 20 * H).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def plant(site, workstation, base):
    site.time_zone = "UTC"
    site.save()
    Shift.objects.create(
        site=site,
        name="Early",
        start_time=(base - H).time(),
        end_time=(base + 7 * H).time(),
        weekdays="1234567",
    )
    Shift.objects.create(
        site=site,
        name="Late",
        start_time=(base + 7 * H).time(),
        end_time=(base + 15 * H).time(),
        weekdays="1234567",
    )
    return site


@pytest.fixture
def pete(make_user):
    return make_user(
        roles.OPERATOR, username="pete", first_name="Pete", last_name="Late", badge=("1003", "3456")
    )


@pytest.fixture
def olga(operator):
    return operator


@contextlib.contextmanager
def at(moment):
    """Everything inside happens at `moment` (the ledger's and the sign-in log's clocks)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def badge_sign_in(user, workstation, moment):
    with at(moment):
        SignInAttempt.objects.create(
            kind=SignInAttempt.Kind.BADGE,
            identifier=user.badge_number,
            user=user,
            workstation=workstation,
            outcome=SignInAttempt.Outcome.SUCCEEDED,
            succeeded=True,
        )


def tap(action, op, user, moment, **extra):
    with at(moment):
        getattr(services, action)(
            operation_id=op.pk, workstation=op.workstation, user=user, key=key(), **extra
        )


def table(rows):
    """{(operation sequence, person, shift): seconds}"""
    return {(r.sequence, r.person, r.shift): round(r.seconds) for r in rows}


def test_two_operators_on_one_operation_across_a_shift_change(
    plant, workstation, supervisor, olga, pete, base, reasons
):
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-LAB1")
    op = order.operations.get()
    badge_sign_in(olga, workstation, base - 5 * M)
    tap("operation_start", op, olga, base)
    tap("operation_pause", op, olga, base + 3 * H, reason="BREAK")
    tap("operation_resume", op, olga, base + 3 * H + 30 * M)
    tap("operation_record_good", op, olga, base + 5 * H, quantity="4")
    badge_sign_in(pete, workstation, base + 6 * H + 50 * M)  # Pete comes early and takes over
    tap("operation_record_good", op, pete, base + 8 * H, quantity="6")  # the order is done

    rows = labor_for_order(order, now=base + 12 * H)

    olga_name, pete_name = olga.printed_name, pete.printed_name
    assert table(rows) == {
        # Olga: 07:00-10:00 and 10:30-13:50 in the hand calculation's clock: 3 h + 3 h 20 min.
        (10, olga_name, "Early"): 3 * 3600 + 3 * 3600 + 20 * 60,
        # Pete: 13:50-14:00 of the early shift, 14:00-15:00 of the late one.
        (10, pete_name, "Early"): 10 * 60,
        (10, pete_name, "Late"): 3600,
    }
    assert sum(r.seconds for r in rows) == pytest.approx(7.5 * 3600)  # the operation ran 7 h 30 min
    assert person_totals(rows) == [(olga_name, "1001", 22800.0), (pete_name, "1003", 4200.0)]


def test_time_nobody_attends_is_unattended_and_an_override_is_no_takeover(
    plant, workstation, supervisor, olga, make_user, base
):
    sid = make_user(roles.SUPERVISOR, username="sid", badge=("2001", "4321"))
    big = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-BIG")
    small = released_order(user=supervisor, workstations=[workstation], quantity=1, number="WO-SMALL")
    big_op, small_op = big.operations.get(), small.operations.get()
    badge_sign_in(olga, workstation, base)
    tap("operation_start", big_op, olga, base)
    tap("operation_start", small_op, olga, base + H)
    # Sid gives badge and PIN at Olga's tablet to allow one more than the order quantity.
    badge_sign_in(sid, workstation, base + 2 * H - 10 * timedelta(seconds=1))
    tap("operation_record_good", small_op, olga, base + 2 * H, quantity="2", override_by=sid)

    now = base + 9 * H
    big_rows = labor_for_order(big, now=now)
    # Olga's last tap is at B+2h; she attends to the end of her shift (B+7h); the machine then
    # runs on its own until now (B+9h), in the late shift.
    assert table(big_rows) == {
        (10, olga.printed_name, "Early"): 7 * 3600,
        (10, "", "Late"): 2 * 3600,
    }
    assert table(labor_for_order(small, now=now)) == {(10, olga.printed_name, "Early"): 3600}
    assert not [r for r in big_rows if r.user_id == sid.pk]


def test_a_hold_stops_the_clock_and_its_release_restarts_it(
    plant, workstation, supervisor, olga, base, reasons
):
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-HOLD")
    op = order.operations.get()
    badge_sign_in(olga, workstation, base)
    tap("operation_start", op, olga, base)
    with at(base + H):
        services.workorder_transition(
            work_order_id=order.pk, target="on_hold", user=supervisor, key=key(), reason_code="QHOLD"
        )
    with at(base + 2 * H):
        services.workorder_release_hold(work_order_id=order.pk, user=supervisor, key=key(), reason="Checked")
    tap("operation_record_good", op, olga, base + 3 * H, quantity="10")
    # Ran B..B+1h and B+2h..B+3h: 2 hours, all Olga's.
    assert table(labor_for_order(order, now=base + 5 * H)) == {(10, olga.printed_name, "Early"): 2 * 3600}


def test_labor_of_a_site_within_a_window_is_clipped_to_it(plant, workstation, supervisor, olga, base):
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-WIN")
    op = order.operations.get()
    badge_sign_in(olga, workstation, base)
    tap("operation_start", op, olga, base)
    tap("operation_record_good", op, olga, base + 4 * H, quantity="10")
    rows = labor_for_site(plant, base + H, base + 3 * H, now=base + 6 * H)
    assert table(rows) == {(10, olga.printed_name, "Early"): 2 * 3600}


def test_the_production_record_gets_plain_values(plant, workstation, supervisor, olga, base):
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-REC")
    op = order.operations.get()
    badge_sign_in(olga, workstation, base)
    tap("operation_start", op, olga, base)
    tap("operation_record_good", op, olga, base + 90 * M, quantity="10")
    assert labor_record(order) == [
        {
            "operation": 10,
            "operation_name": op.name,
            "workstation": "CNC1",
            "person": olga.printed_name,
            "badge": "1001",
            "shift": "Early",
            "shift_start": (base - H).isoformat(),
            "seconds": 5400,
        }
    ]


# --- the CSV, at the desk and for the ERP -------------------------------------------------------


def test_the_csv_has_one_row_per_person_operation_and_shift(
    plant, workstation, supervisor, olga, base, client_for
):
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-CSV")
    op = order.operations.get()
    badge_sign_in(olga, workstation, base)
    tap("operation_start", op, olga, base)
    tap("operation_record_good", op, olga, base + 90 * M, quantity="10")
    response = client_for(supervisor).get("/labor/export.csv", {"work_order": "WO-CSV"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="labor-WO-CSV.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "work_order", "operation_sequence", "operation", "workstation", "person", "badge",
        "shift", "shift_start", "seconds", "hours",
    ]  # fmt: skip
    assert rows[1:] == [
        [
            "WO-CSV",
            "10",
            op.name,
            "CNC1",
            olga.printed_name,
            "1001",
            "Early",
            (base - H).isoformat(),
            "5400",
            "1.5000",
        ]
    ]


def test_the_api_answers_the_same_csv_to_a_token(plant, workstation, supervisor, olga, base, client):
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-API")
    op = order.operations.get()
    badge_sign_in(olga, workstation, base)
    tap("operation_start", op, olga, base)
    tap("operation_record_good", op, olga, base + H, quantity="10")
    token = Token.objects.create(user=supervisor)
    response = client.get(
        "/api/v1/labor/",
        {"work_order": "WO-API"},
        HTTP_AUTHORIZATION=f"Token {token.key}",
        HTTP_ACCEPT="text/csv",
    )
    assert response.status_code == 200, response.content
    assert response.content.decode().splitlines()[1].endswith(",3600,1.0000")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "work_order"),
        ({"site": "abc"}, "site"),
        ({"site": "1", "start": "2026-02-31", "end": "2026-03-01"}, "start"),
        ({"site": "1", "start": "2026-03-02"}, "end"),
        ({"site": "1", "start": "2026-03-02", "end": "2026-03-01"}, "end"),
        ({"site": "1", "start": "2026-01-01", "end": "2026-03-01"}, "end"),
    ],
)
def test_a_bad_query_is_refused_naming_the_field(supervisor, client_for, query, field):
    response = client_for(supervisor).get("/labor/export.csv", query)
    assert response.status_code == 400
    assert response.content.decode().startswith(f"{field}:")


def test_an_order_of_another_site_is_not_found(supervisor, client_for, make_user, workstation):
    released_order(user=supervisor, workstations=[workstation], number="WO-MINE")
    stranger = make_user(roles.SUPERVISOR, username="sue", site=SiteFactory(code="PLANT2"))
    assert client_for(stranger).get("/labor/export.csv", {"work_order": "WO-MINE"}).status_code == 404
    assert client_for(supervisor).get("/labor/export.csv", {"work_order": "WO-MINE"}).status_code == 200
