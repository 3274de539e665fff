"""The lots API: list, read with one level of genealogy, receive, consume; bad input is a 4xx
with field and reason and writes nothing."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mes import roles
from workorders.models import Consumption, Lot, ProductionEvent
from workorders.tests.lotdata import consume, good, products, receive, running_order

pytestmark = pytest.mark.django_db
LOTS = "/api/v1/lots/"


@pytest.fixture
def plant(supervisor):
    return products(supervisor)


@pytest.fixture
def history(site, plant, supervisor, operator):
    """raw -> sub-assembly lot -> two serials."""
    raw = receive(plant.raw, site, 100, supervisor, code="RAW-A")
    receive(plant.seal, site, 100, supervisor, code="SEAL-A")
    sub_order, (sub_op,) = running_order(plant.sub, supervisor, operator, site=site)
    consume(sub_op, operator, raw.code, 10)
    good(sub_op, operator, 4)
    fg_order, (fg_op,) = running_order(plant.fg, supervisor, operator, site=site)
    sub_lot = Lot.objects.get(work_order=sub_order)
    consume(fg_op, operator, sub_lot.code, 2)
    good(fg_op, operator, 2)
    return {"raw": raw, "sub": sub_lot, "fg_order": fg_order, "fg_op": fg_op, "sub_op": sub_op}


def test_list_filters_and_paginates(client_for, supervisor, history):
    api = client_for(supervisor)
    body = api.get(LOTS).json()
    assert body["count"] == 5 and "results" in body
    serials = api.get(LOTS, {"kind": "serial", "work_order": history["fg_order"].pk}).json()["results"]
    assert sorted(s["code"] for s in serials) == ["FG00001", "FG00002"]
    assert serials[0]["gs1"].startswith("(01)09501101530003(11)")
    assert api.get(LOTS, {"part_number": "RAW-1"}).json()["results"][0]["quantity_left"] == "90.000"
    assert api.get(LOTS, {"status": "consumed"}).json()["count"] == 0
    assert api.get(LOTS, {"limit": 2}).json()["next"]
    refused = api.get(LOTS, {"work_order": "x"})
    assert refused.status_code == 400 and "work_order" in refused.json()["errors"]


def test_detail_shows_parents_children_and_consumptions_in_few_queries(client_for, supervisor, history):
    api = client_for(supervisor)
    with CaptureQueriesContext(connection) as queries:
        body = api.get(f"{LOTS}{history['sub'].code}/").json()
    assert len(queries) < 15
    assert [p["lot"] for p in body["parents"]] == ["RAW-A"]
    assert sorted(c["lot"] for c in body["children"]) == ["FG00001", "FG00002"]
    assert body["consumptions"][0]["work_order_number"] == history["fg_order"].number
    assert api.get(f"{LOTS}NOPE/").status_code == 404


def test_auditor_reads_operator_does_not(client_for, make_user, history):
    auditor = make_user(roles.AUDITOR, username="ada")
    assert client_for(auditor).get(LOTS).status_code == 200
    assert client_for(auditor).post(LOTS, {"product": "RAW-1", "quantity": "1"}).status_code == 403
    quality = make_user(roles.QUALITY, username="quinn")
    assert client_for(quality).get(f"{LOTS}RAW-A/").status_code == 200


def test_receive_through_the_api(client_for, supervisor, plant):
    api = client_for(supervisor)
    response = api.post(
        LOTS,
        {"product": "RAW-1", "quantity": "40.5", "supplier": "Alu AG", "supplier_lot": "X-9"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    lot = Lot.objects.get(code=response.json()["code"])
    assert (lot.quantity, lot.supplier_lot, lot.product.part_number) == (40.5, "X-9", "RAW-1")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"product": "NOPE", "quantity": "1"}, "product"),
        ({"product": "RAW-1", "quantity": "-1"}, "quantity"),
        ({"product": "RAW-1"}, "quantity"),
        ({"product": "RAW-1", "quantity": "1", "site": 99999}, "site"),
        ({"product": "RAW-1", "quantity": "1", "code": "RAW-A"}, "code"),
    ],
)
def test_receive_bad_input(client_for, supervisor, history, body, field):
    before = Lot.objects.count()
    response = client_for(supervisor).post(LOTS, body, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert field in response.json()["errors"]
    assert Lot.objects.count() == before


def _consume_body(history, **extra):
    return {
        "idempotency_key": str(uuid.uuid4()),
        "workstation": history["sub_op"].workstation_id,
        "lot": "RAW-A",
        "quantity": "5",
        **extra,
    }


def test_consume_through_the_api_is_idempotent_and_reads_gs1_scans(client_for, operator, history):
    api = client_for(operator)
    url = f"/api/v1/operations/{history['sub_op'].pk}/consume/"
    body = _consume_body(history)
    first = api.post(url, body, content_type="application/json")
    assert first.status_code == 201, first.content
    assert first.json()["kind"] == "consume" and first.json()["data"]["lot"] == "RAW-A"
    again = api.post(url, body, content_type="application/json")
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    scanned = _consume_body(history, lot="]C1" + "\xf1" + "0109501101530003" + "10RAW-A", quantity="")
    # RAW-1 has no GTIN, but a supplier label's lot is read all the same.
    assert api.post(url, scanned, content_type="application/json").status_code == 201
    assert Consumption.objects.filter(lot__code="RAW-A").count() == 3


@pytest.mark.parametrize(
    ("extra", "status", "field"),
    [
        ({"lot": "NOPE"}, 400, "lot"),
        ({"lot": "SEAL-A"}, 400, "lot"),
        ({"quantity": "1000"}, 409, "quantity"),
        ({"quantity": "abc"}, 400, "quantity"),
        ({"idempotency_key": "not-a-uuid"}, 400, "idempotency_key"),
        ({"workstation": 0}, 400, "workstation"),
        ({"occurred_at": "yesterday"}, 400, "occurred_at"),
    ],
)
def test_consume_bad_input_writes_nothing(client_for, operator, history, extra, status, field):
    before = (ProductionEvent.objects.count(), Consumption.objects.count())
    url = f"/api/v1/operations/{history['sub_op'].pk}/consume/"
    response = client_for(operator).post(
        url, _consume_body(history, **extra), content_type="application/json"
    )
    assert response.status_code == status, response.content
    body = response.json()
    assert field in body["errors"] and body["detail"]
    assert (ProductionEvent.objects.count(), Consumption.objects.count()) == before
