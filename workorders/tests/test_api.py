"""The production API: idempotent ledger events, transitions, bad input answered with the field."""

import json
import uuid

import pytest
from rest_framework.authtoken.models import Token

from mes import roles
from mes.tests.factories import WorkstationFactory
from workorders.models import ProductionEvent, WorkOrder
from workorders.tests.factories import key, released_order


@pytest.fixture
def station(site):
    return WorkstationFactory(line__site=site, code="CNC1")


@pytest.fixture
def order(supervisor, station):
    return released_order(user=supervisor, workstations=[station], quantity=10)


@pytest.fixture
def api(operator):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=operator).key}")
    return client


def post_event(api, **body):
    return api.post("/api/v1/events/", body, format="json")


def started(api, order, station):
    op = order.operations.get()
    assert (
        post_event(
            api, idempotency_key=str(key()), kind="start", workstation=station.pk, operation=op.pk
        ).status_code
        == 201
    )
    return op


@pytest.mark.requirement("MES-001")
def test_a_completion_is_recorded_once_however_often_it_is_sent(api, order, station):
    op = started(api, order, station)
    body = {
        "idempotency_key": str(key()),
        "kind": "good",
        "workstation": station.pk,
        "operation": op.pk,
        "quantity": "3",
    }
    first = post_event(api, **body)
    again = post_event(api, **body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    op.refresh_from_db()
    assert op.quantity_good == 3


def test_good_units_are_named_good_and_the_earlier_code_is_still_understood(
    api, order, station, client_for, make_user
):
    """The API says "good"; the ledger keeps its stored code, and a client written before the word
    (a tablet's queued tap, a machine) that sends "complete" is the same request, replay included."""
    op = started(api, order, station)
    body = {"idempotency_key": str(key()), "workstation": station.pk, "operation": op.pk, "quantity": "2"}
    first = post_event(api, kind="complete", **body)
    again = post_event(api, kind="good", **body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["kind"] == again.json()["kind"] == "good"
    assert ProductionEvent.objects.get(pk=first.json()["id"]).kind == "complete"
    reader = client_for(make_user(roles.AUDITOR))
    listed = reader.get("/api/v1/events/", {"operation": op.pk, "kind": "good"}).json()["results"]
    assert [e["id"] for e in listed] == [first.json()["id"]]
    assert listed[0]["kind"] == "good"
    by_code = reader.get("/api/v1/events/", {"operation": op.pk, "kind": "complete"}).json()["results"]
    assert [e["id"] for e in by_code] == [first.json()["id"]]
    refused = post_event(api, **{**body, "idempotency_key": str(key())}, kind="completion")
    assert refused.status_code == 400 and "kind" in refused.json()["errors"]
    op.refresh_from_db()
    assert op.quantity_good == 2


def test_a_reused_key_with_another_body_is_409(api, order, station):
    op = started(api, order, station)
    tap = str(key())
    post_event(api, idempotency_key=tap, kind="good", workstation=station.pk, operation=op.pk, quantity="3")
    response = post_event(
        api, idempotency_key=tap, kind="good", workstation=station.pk, operation=op.pk, quantity="4"
    )
    assert response.status_code == 409
    assert response.json()["errors"] == {"idempotency_key": [response.json()["detail"]]}


@pytest.mark.parametrize(
    ("change", "field", "status"),
    [
        ({"quantity": "0"}, "quantity", 400),
        ({"quantity": "-2"}, "quantity", 400),
        ({"quantity": "lots"}, "quantity", 400),
        ({"kind": "scrap", "reason": "NOT-A-REASON"}, "reason", 400),
        ({"idempotency_key": "not-a-uuid"}, "idempotency_key", 400),
        ({"idempotency_key": ""}, "idempotency_key", 400),
        ({"workstation": "other"}, "workstation", 400),
        ({"operation": 999999}, "operation", 400),
        ({"kind": "teleport"}, "kind", 400),
        ({"occurred_at": "yesterday-ish"}, "occurred_at", 400),
        ({"occurred_at": "2020-01-01T00:00:00Z"}, "occurred_at", 400),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    api, order, station, site, reasons, change, field, status
):
    op = started(api, order, station)
    if change.get("workstation") == "other":
        change = {"workstation": WorkstationFactory(line=station.line, code="OTHER").pk}
    body = {
        "idempotency_key": str(key()),
        "kind": "good",
        "workstation": station.pk,
        "operation": op.pk,
        "quantity": "1",
        **change,
    }
    before = ProductionEvent.objects.count()
    response = post_event(api, **body)
    assert response.status_code == status, response.content
    assert field in response.json()["errors"], response.json()
    assert ProductionEvent.objects.count() == before


def test_transitions_are_idempotent_and_refuse_illegal_moves(make_user, site, supervisor, station):
    from rest_framework.test import APIClient

    order = released_order(user=supervisor, workstations=[station])
    client = APIClient()
    client.force_authenticate(make_user(roles.SUPERVISOR))
    transition = {
        "status": "cancelled",
        "version": order.version,
        "idempotency_key": str(uuid.uuid4()),
        "reason": "Customer cancelled",
    }
    url = f"/api/v1/work-orders/{order.pk}/transition/"
    assert client.post(url, transition, format="json").status_code == 201
    assert client.post(url, transition, format="json").status_code == 200
    order.refresh_from_db()
    assert order.status == "cancelled"
    reopen = {"status": "released", "version": order.version, "idempotency_key": str(uuid.uuid4())}
    response = client.post(url, reopen, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "illegal_transition"


def test_a_stale_version_is_409(make_user, supervisor, station, reasons):
    from rest_framework.test import APIClient

    order = released_order(user=supervisor, workstations=[station])
    client = APIClient()
    client.force_authenticate(make_user(roles.SUPERVISOR))
    body = {
        "status": "on_hold",
        "version": order.version - 1,
        "idempotency_key": str(uuid.uuid4()),
        "reason_code": "QHOLD",
    }
    response = client.post(f"/api/v1/work-orders/{order.pk}/transition/", body, format="json")
    assert response.status_code == 409
    assert "version" in response.json()["errors"]
    assert WorkOrder.objects.get(pk=order.pk).status == "released"


def test_an_operator_cannot_transition_orders(api, order):
    body = {"status": "on_hold", "version": order.version, "idempotency_key": str(uuid.uuid4())}
    assert api.post(f"/api/v1/work-orders/{order.pk}/transition/", body, format="json").status_code == 403


def test_an_auditor_can_read_the_ledger_but_not_write_it(make_user, order, station):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(make_user(roles.AUDITOR))
    assert client.get("/api/v1/events/").status_code == 200
    response = client.post(
        "/api/v1/events/",
        {"idempotency_key": str(key()), "kind": "start", "workstation": station.pk},
        format="json",
    )
    assert response.status_code == 403


def test_master_data_crud_leaves_history(make_user):
    from rest_framework.test import APIClient

    client = APIClient()
    admin = make_user(roles.ADMIN)
    client.force_authenticate(admin)
    response = client.post(
        "/api/v1/products/",
        {
            "part_number": "NEW-1",
            "name": "New",
            "unit": "pcs",
            "tracking": "lot",
            "reason": "New part from engineering",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    bad = client.post("/api/v1/reason-codes/", {"code": "X1", "name": "X", "kind": "downtime"}, format="json")
    assert bad.status_code == 400
    assert "loss" in bad.json()["errors"]
    from workorders.models import Product

    history = Product.history.get(part_number="NEW-1")
    assert (history.history_user, history.history_change_reason) == (admin, "New part from engineering")


def test_the_schema_lists_the_production_endpoints(make_user, client_for):
    schema = json.loads(client_for(make_user(roles.SUPERVISOR)).get("/api/schema/?format=json").content)
    assert {
        "/api/v1/events/",
        "/api/v1/work-orders/{id}/transition/",
        "/api/v1/oee/",
        "/api/v1/products/",
        "/api/v1/routings/",
        "/api/v1/reason-codes/",
    } <= set(schema["paths"])
