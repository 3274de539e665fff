"""The operator's tablet: the workstation queue, the operation screen and the tap endpoint."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from mes import roles
from mes.tests.factories import WorkstationFactory
from workorders import services
from workorders.models import Downtime, ProductionEvent, WorkOrder, WorkOrderOperation
from workorders.states import EventKind, OperationStatus
from workorders.tests.factories import key, released_order

EVENTS = "/workstation/events/"
OVERRIDE = "/workstation/override/"


@pytest.fixture
def bound_tablet(supervisor, client_for, workstation):
    """A browser on which a supervisor bound this tablet to the workstation, then signed out."""
    tablet = client_for(supervisor)
    response = tablet.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet 1"})
    assert response.status_code == 302
    tablet.post("/logout/")
    return tablet


@pytest.fixture
def tablet(bound_tablet, operator):
    """The bound tablet with the operator badged in: it lands on the workstation queue."""
    response = bound_tablet.post("/tablet/sign-in/", {"badge_number": "1001", "pin": "1234"})
    assert response.status_code == 302
    assert response["Location"] == "/workstation/"
    return bound_tablet


@pytest.fixture
def order(supervisor, workstation):
    return released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-100")


@pytest.fixture
def op(order):
    return order.operations.get()


@pytest.fixture
def boss(make_user):
    """A supervisor with a badge, who may allow over-completion."""
    return make_user(roles.SUPERVISOR, username="sid", badge=("2001", "4321"))


def tap(client, kind, operation=None, **fields):
    data = {"kind": kind, "idempotency_key": str(key()), **fields}
    if operation is not None:
        data["operation"] = operation.pk
    return client.post(EVENTS, data)


def started(client, op):
    response = tap(client, "start", op)
    assert response.status_code == 200, response.content
    return op


def orders_in(html: str) -> list[str]:
    return re.findall(r'class="queue-item[^"]*" data-operation="\d+" data-order="([^"]+)"', html)


# --- the queue ---------------------------------------------------------------------------------


def test_queue_shows_only_this_workstations_operations_in_priority_order(
    tablet, supervisor, operator, workstation
):
    elsewhere = WorkstationFactory(line=workstation.line, code="CNC2")
    first = released_order(user=supervisor, workstations=[workstation], number="WO-1")
    second = released_order(user=supervisor, workstations=[workstation], number="WO-2")
    third = released_order(user=supervisor, workstations=[workstation], number="WO-3")
    released_order(user=supervisor, workstations=[elsewhere], number="WO-ELSEWHERE")
    # The supervisor moves WO-3 to the top; WO-2 is already running, so it leads the queue.
    services.workorder_move(work_order_id=third.pk, direction="up", user=supervisor)
    services.workorder_move(work_order_id=third.pk, direction="up", user=supervisor)
    started(tablet, second.operations.get())

    page = tablet.get("/workstation/")

    assert page.status_code == 200
    html = page.content.decode()
    assert orders_in(html) == ["WO-2", "WO-3", "WO-1"]
    assert "WO-ELSEWHERE" not in html
    assert first.product.part_number in html


def test_queue_rows_show_what_the_operator_needs(tablet, op, order, operator, reasons):
    started(tablet, op)
    tap(tablet, "good", op, quantity="4")
    tap(tablet, "scrap", op, quantity="1", reason="SCRATCH")

    html = tablet.get("/workstation/").content.decode()

    row = html[html.index('data-order="WO-100"') :]
    row = row[: row.index("</a>")]
    assert "Running" in row
    assert re.search(r"Left</small><b>6</b>", row)
    assert re.search(r"Good</small><b class=\"good\">4</b>", row)
    assert re.search(r"Scrap</small><b class=\"scrap\">1</b>", row)
    assert f"/workstation/operations/{op.pk}/" in row


def test_queue_list_is_a_partial_for_htmx_and_costs_few_queries(
    tablet, supervisor, workstation, django_assert_max_num_queries
):
    for n in range(6):
        released_order(user=supervisor, workstations=[workstation], number=f"WO-Q{n}")

    with django_assert_max_num_queries(12):
        response = tablet.get("/workstation/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue-list")

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="queue-list"')
    assert "<html" not in html
    assert len(orders_in(html)) == 6


def test_an_unbound_tablet_gets_no_queue(client_for, operator, order):
    desk = client_for(operator)

    page = desk.get("/workstation/")

    html = page.content.decode()
    assert "not bound" in html
    assert "WO-100" not in html
    response = tap(desk, "start", order.operations.get())
    assert response.status_code == 403
    assert response.json()["code"] == "tablet_not_bound"
    assert not ProductionEvent.objects.filter(kind=EventKind.START).exists()


def test_the_queue_shows_open_downtime_and_the_reasons_to_report_one(tablet, workstation, reasons):
    html = tablet.get("/workstation/").content.decode()
    assert "Report downtime" in html
    assert 'data-reason="JAM"' in html and "Planned maintenance" in html

    started_at = timezone.now() - timedelta(minutes=3)
    response = tap(tablet, "downtime_start", reason="JAM", occurred_at=started_at.isoformat())
    assert response.status_code == 200

    banner = tablet.get("/workstation/downtime/").content.decode()
    assert "Downtime: Jam" in banner
    assert "End downtime" in banner
    assert f'data-since="{started_at.isoformat()}"' in banner

    assert tap(tablet, "downtime_end").status_code == 200
    downtime = Downtime.objects.get(workstation=workstation)
    assert downtime.ended_at is not None
    assert "Report downtime" in tablet.get("/workstation/downtime/").content.decode()


# --- the operation screen ----------------------------------------------------------------------


def test_operation_screen_shows_the_order_and_live_counters(tablet, op, reasons):
    page = tablet.get(f"/workstation/operations/{op.pk}/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "WO-100" in html and op.name in html
    for button in ("Start", "Pause", "Resume", "+1 good", "+N good", "Scrap", "Report downtime"):
        assert button in html
    assert 'data-reason="BREAK"' in html and 'value="SCRATCH"' in html

    started(tablet, op)
    tap(tablet, "good", op, quantity="3")
    counters = tablet.get(
        f"/workstation/operations/{op.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="op-counters"
    ).content.decode()
    assert counters.lstrip().startswith('<div id="op-counters"')
    assert 'data-status="running"' in counters
    assert re.search(r'data-counter="good">3<', counters)
    assert re.search(r'data-counter="left">7<', counters)
    assert "30 %" in counters


def test_another_workstations_operation_answers_404(tablet, supervisor, workstation, operator):
    elsewhere = WorkstationFactory(line=workstation.line, code="CNC2")
    other = released_order(user=supervisor, workstations=[elsewhere]).operations.get()

    assert tablet.get(f"/workstation/operations/{other.pk}/").status_code == 404
    response = tap(tablet, "start", other)
    assert response.status_code == 400
    assert response.json()["code"] == "wrong_workstation"
    other.refresh_from_db()
    assert other.status == OperationStatus.PENDING


# --- taps ----------------------------------------------------------------------------------------


def test_a_tap_records_once_even_when_posted_twice_with_the_same_key(tablet, op, operator):
    started(tablet, op)
    same = {"kind": "good", "operation": op.pk, "quantity": "1", "idempotency_key": str(key())}
    same["occurred_at"] = (timezone.now() - timedelta(seconds=30)).isoformat()

    first = tablet.post(EVENTS, same)
    again = tablet.post(EVENTS, same)

    assert first.status_code == again.status_code == 200
    assert first.json()["replayed"] is False
    assert again.json()["replayed"] is True
    assert again.json()["event"] == first.json()["event"]
    event = ProductionEvent.objects.get(kind=EventKind.GOOD)
    assert event.user == operator
    assert event.idempotency_key == uuid.UUID(same["idempotency_key"])
    op.refresh_from_db()
    assert op.quantity_good == 1


def test_start_pause_resume_good_and_scrap_from_the_tablet(tablet, op, operator, workstation, reasons):
    started(tablet, op)
    assert tap(tablet, "good", op, quantity="5").status_code == 200
    assert tap(tablet, "scrap", op, quantity="1", reason="SCRATCH").status_code == 200
    assert tap(tablet, "pause", op, reason="BREAK").status_code == 200

    op.refresh_from_db()
    assert (op.status, op.quantity_good, op.quantity_scrap) == ("paused", 5, 1)
    order = WorkOrder.objects.get(pk=op.work_order_id)
    assert (order.status, order.quantity_good, order.quantity_scrap) == ("in_progress", 5, 1)
    kinds = list(ProductionEvent.objects.filter(operation=op).values_list("kind", flat=True))
    assert kinds == ["start", "complete", "scrap", "pause"]
    assert set(ProductionEvent.objects.filter(operation=op).values_list("workstation", flat=True)) == {
        workstation.pk
    }
    assert tap(tablet, "resume", op).status_code == 200
    op.refresh_from_db()
    assert op.status == "running"


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"kind": "good", "quantity": "0"}, 400, "not_positive"),
        ({"kind": "good", "quantity": "-2"}, 400, "not_positive"),
        ({"kind": "good", "quantity": ""}, 400, "not_a_number"),
        ({"kind": "scrap", "quantity": "1", "reason": "NOPE"}, 400, "unknown_reason"),
        ({"kind": "scrap", "quantity": "1"}, 400, "unknown_reason"),
        ({"kind": "pause", "reason": "JAM"}, 400, "unknown_reason"),
        ({"kind": "good", "quantity": "1", "idempotency_key": "not-a-uuid"}, 400, "malformed"),
        ({"kind": "good", "quantity": "1", "idempotency_key": ""}, 400, "required"),
        ({"kind": "explode"}, 400, "unknown_kind"),
        ({"kind": "good", "quantity": "1", "occurred_at": "yesterday"}, 400, "invalid"),
        ({"kind": "good", "quantity": "1", "operation": "x1"}, 400, "unknown_operation"),
        ({"kind": "start"}, 409, "already_started"),
    ],
)
def test_refused_taps_answer_the_reason_and_write_nothing(tablet, op, reasons, fields, status, code):
    started(tablet, op)
    before = ProductionEvent.objects.count()
    data = {"idempotency_key": str(key()), "operation": op.pk, **fields}

    response = tablet.post(EVENTS, data)

    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert body["detail"]
    assert ProductionEvent.objects.count() == before
    op.refresh_from_db()
    assert (op.quantity_good, op.quantity_scrap) == (0, 0)


def test_nothing_is_recorded_against_an_order_on_hold(tablet, op, order, supervisor, reasons):
    started(tablet, op)
    services.workorder_transition(
        work_order_id=order.pk, target="on_hold", user=supervisor, key=key(), reason_code="QHOLD"
    )
    before = ProductionEvent.objects.count()

    response = tap(tablet, "good", op, quantity="1")

    assert response.status_code == 409
    assert response.json()["code"] == "order_on_hold"
    assert "on hold" in response.json()["detail"]
    assert ProductionEvent.objects.count() == before
    counters = tablet.get(
        f"/workstation/operations/{op.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="op-counters"
    ).content.decode()
    assert "Order on hold" in counters


def test_a_reused_key_with_another_tap_is_refused(tablet, op):
    started(tablet, op)
    reused = str(key())
    assert (
        tablet.post(
            EVENTS, {"kind": "good", "operation": op.pk, "quantity": "1", "idempotency_key": reused}
        ).status_code
        == 200
    )

    response = tablet.post(
        EVENTS, {"kind": "good", "operation": op.pk, "quantity": "2", "idempotency_key": reused}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "key_reused"
    op.refresh_from_db()
    assert op.quantity_good == 1


# --- supervisor override -------------------------------------------------------------------------


def test_over_quantity_needs_a_supervisor_badge_and_pin_with_the_permission(tablet, op, operator, boss):
    started(tablet, op)
    tap(tablet, "good", op, quantity="8")
    over = {"operation": op.pk, "quantity": "5", "idempotency_key": str(key())}

    refused = tablet.post(EVENTS, {"kind": "good", **over})
    assert refused.status_code == 409
    assert refused.json()["code"] == "over_quantity"
    assert "supervisor" in refused.json()["detail"]

    own_badge = tablet.post(OVERRIDE, {**over, "badge_number": "1001", "pin": "1234"})
    assert own_badge.status_code == 403
    assert own_badge.json()["code"] == "override_not_allowed"
    wrong_pin = tablet.post(OVERRIDE, {**over, "badge_number": "2001", "pin": "9999"})
    assert wrong_pin.status_code == 400
    assert wrong_pin.json()["code"] == "wrong_credentials"
    op.refresh_from_db()
    assert op.quantity_good == 8

    allowed = tablet.post(OVERRIDE, {**over, "badge_number": "2001", "pin": "4321"})
    assert allowed.status_code == 200, allowed.content
    replay = tablet.post(OVERRIDE, {**over, "badge_number": "2001", "pin": "4321"})
    assert replay.status_code == 200
    assert replay.json()["replayed"] is True

    event = ProductionEvent.objects.get(idempotency_key=over["idempotency_key"])
    assert (event.kind, event.quantity, event.user, event.override_by) == (
        EventKind.GOOD,
        Decimal("5"),
        operator,
        boss,
    )
    op.refresh_from_db()
    assert (op.quantity_good, op.status) == (13, OperationStatus.DONE)


def test_a_supervisor_of_another_site_cannot_allow_over_quantity(tablet, op, make_user):
    from mes.tests.factories import SiteFactory

    make_user(roles.SUPERVISOR, username="far", site=SiteFactory(code="FAR"), badge=("3001", "4321"))
    started(tablet, op)
    over = {"operation": op.pk, "quantity": "11", "idempotency_key": str(key())}

    response = tablet.post(OVERRIDE, {**over, "badge_number": "3001", "pin": "4321"})

    assert response.status_code == 403
    assert not ProductionEvent.objects.filter(kind=EventKind.GOOD).exists()


# --- access --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [roles.QUALITY, roles.AUDITOR])
def test_roles_without_record_production_get_403(make_user, client_for, role, op):
    client = client_for(make_user(role, username=f"user-{role}"))

    assert client.get("/workstation/").status_code == 403
    assert client.get(f"/workstation/operations/{op.pk}/").status_code == 403
    assert client.get("/workstation/downtime/").status_code == 403
    assert tap(client, "start", op).status_code == 403
    assert client.post(OVERRIDE, {"operation": op.pk}).status_code == 403
    assert not ProductionEvent.objects.filter(kind=EventKind.START).exists()


def test_anonymous_taps_go_to_sign_in_and_write_nothing(client, op):
    response = tap(client, "start", op)

    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert not WorkOrderOperation.objects.filter(status=OperationStatus.RUNNING).exists()


def test_operators_see_the_workstation_in_their_navigation(tablet):
    html = tablet.get("/workstation/").content.decode()
    assert re.search(r'<a href="/workstation/" class="active">Workstation</a>', html)
