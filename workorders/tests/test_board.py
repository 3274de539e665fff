"""The supervisor's board: filters, create, release, hold, reprioritise, close, cancel."""

import json
import uuid

import pytest

from mes import roles
from mes.tests.factories import LineFactory, WorkstationFactory
from workorders.models import WorkOrder
from workorders.tests.factories import released_order, routing_with


@pytest.fixture
def station(site):
    return WorkstationFactory(line__site=site, code="CNC1")


@pytest.fixture
def board(supervisor, client_for):
    return client_for(supervisor)


def post(client, order, status, **extra):
    return client.post(
        f"/board/orders/{order.pk}/transition/",
        {"status": status, "version": order.version, "idempotency_key": str(uuid.uuid4()), **extra},
        headers={"HX-Request": "true"},
    )


def test_board_lists_open_orders_and_filters_by_line_and_status(board, supervisor, station, site):
    here = released_order(user=supervisor, workstations=[station], number="WO-HERE")
    other_station = WorkstationFactory(line=LineFactory(site=site, code="L2"))
    there = released_order(user=supervisor, workstations=[other_station], number="WO-THERE")
    page = board.get("/board/").content.decode()
    assert 'data-order="WO-HERE"' in page and 'data-order="WO-THERE"' in page
    by_line = board.get(f"/board/?line={here.line_id}").content.decode()
    assert 'data-order="WO-HERE"' in by_line and 'data-order="WO-THERE"' not in by_line
    post(board, there, "cancelled", reason="Not needed")
    assert 'data-order="WO-THERE"' not in board.get("/board/").content.decode()
    assert 'data-order="WO-THERE"' in board.get("/board/?status=cancelled").content.decode()


def test_create_and_release_from_the_board(board, station):
    routing = routing_with([station])
    response = board.post(
        "/board/orders/new/",
        {"number": "WO-NEW", "routing": routing.pk, "line": station.line_id, "quantity": "25"},
    )
    assert response.status_code == 302
    order = WorkOrder.objects.get(number="WO-NEW")
    assert order.status == "draft"
    assert post(board, order, "released").status_code == 200
    order.refresh_from_db()
    assert order.status == "released"
    assert order.operations.count() == 1


def test_bad_new_orders_are_refused_with_the_reason(board, station):
    routing = routing_with([station])
    response = board.post(
        "/board/orders/new/",
        {"number": "WO-BAD", "routing": routing.pk, "line": station.line_id, "quantity": "-3"},
        follow=True,
    )
    assert "quantity" in response.content.decode()
    assert not WorkOrder.objects.filter(number="WO-BAD").exists()


def test_a_refused_new_order_comes_back_as_typed_with_the_reason_at_its_field(board, station):
    # Given a supervisor who types a new order with a quantity below zero
    routing = routing_with([station])
    typed = {"number": "WO-TYPED", "routing": routing.pk, "line": station.line_id, "quantity": "-3"}
    # When the board's form sends it (htmx)
    response = board.post("/board/orders/new/", typed, headers={"HX-Request": "true"})
    # Then the form alone comes back, refused, with the reason at the quantity and what was typed
    assert response.status_code == 400
    page = response.content.decode()
    assert "<table" not in page  # the form's partial, not the board
    assert 'data-field="quantity"' in page and "more than zero" in page
    assert 'value="WO-TYPED"' in page and 'value="-3"' in page
    assert f'<option value="{routing.pk}" selected>' in page
    notice = json.loads(response["HX-Trigger"])["mes:notice"]
    assert notice["level"] == "error" and notice["message"].startswith("quantity:")
    assert not WorkOrder.objects.filter(number="WO-TYPED").exists()


def test_hold_and_release_hold(board, supervisor, station, reasons):
    order = released_order(user=supervisor, workstations=[station])
    response = post(board, order, "on_hold", reason_code="QHOLD")
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == "on_hold"
    assert "Release hold" in response.content.decode()
    post(board, order, "resume")
    order.refresh_from_db()
    assert order.status == "released"


def test_a_stale_row_is_refused_and_says_so(board, supervisor, station):
    order = released_order(user=supervisor, workstations=[station])
    stale_version = order.version
    post(board, order, "cancelled", reason="Dup")
    order.version = stale_version
    response = post(board, order, "cancelled", reason="Dup again")
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()


def test_move_up_and_down_swaps_priorities(board, supervisor, station):
    first = released_order(user=supervisor, workstations=[station], number="WO-1")
    second = released_order(user=supervisor, routing=first.routing, number="WO-2")
    assert first.priority < second.priority
    board.post(f"/board/orders/{second.pk}/move/", {"direction": "up"}, headers={"HX-Request": "true"})
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.priority < first.priority
    assert list(
        WorkOrder.objects.filter(line=station.line).order_by("priority").values_list("number", flat=True)
    ) == ["WO-2", "WO-1"]


def test_quality_and_auditor_see_the_board_but_cannot_act(make_user, client_for, supervisor, station):
    order = released_order(user=supervisor, workstations=[station])
    for role in (roles.QUALITY, roles.AUDITOR):
        client = client_for(make_user(role))
        page = client.get("/board/").content.decode()
        assert (
            'data-order="' in page and 'value="released">Release' not in page and "Hold</button>" not in page
        )
        assert post(client, order, "on_hold").status_code == 403
    assert client_for(make_user(roles.OPERATOR)).get("/board/").status_code == 403


def test_the_board_makes_a_fixed_number_of_queries(board, supervisor, station, django_assert_max_num_queries):
    for n in range(3):
        released_order(user=supervisor, workstations=[station], number=f"WO-Q{n}")
    with django_assert_max_num_queries(14) as few:
        board.get("/board/")
    for n in range(3, 15):
        released_order(user=supervisor, workstations=[station], number=f"WO-Q{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        board.get("/board/")


def test_supervisors_land_on_the_board(supervisor, client_for):
    assert client_for(supervisor).get("/")["Location"] == "/board/"


def test_a_due_date_that_is_no_day_of_the_calendar_is_refused_with_its_field(client_for, supervisor):
    from workorders.forms import WorkOrderCreateForm

    form = WorkOrderCreateForm({"due": "2026-02-30T08:00"}, user=supervisor)
    assert not form.is_valid()
    assert form.errors["due"] == ["The due date is not a day of the calendar."]
