"""Shipping: a lot leaves the plant through one service (API and desk), with who, when, to whom and
under which reference, in the lot's history and the trace's EPCIS; the release guard keeps back a
lot of an unreleased record where the site requires release; bad input writes nothing."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from mes import roles
from mes.errors import Conflict
from quality.models import Hold
from quality.states import HoldStatus, HoldTarget
from traceability.models import RecordSettings, Shipment
from traceability.record import services as record_services
from traceability.record.exceptions import exceptions_for
from traceability.record.selectors import record_for
from workorders import services as production
from workorders.models import Consumption, Lot
from workorders.states import LotStatus, WorkOrderStatus
from workorders.tests.factories import key
from workorders.tests.lotdata import consume, good, products, receive, running_order

PASSWORD = "pass-word-1"
API = "/api/v1/shipments/"


@pytest.fixture
def quality(make_user):
    return make_user(roles.QUALITY, username="quentin", first_name="Quentin", last_name="Quality")


@pytest.fixture
def made(site, supervisor, operator):
    """A sub-assembly lot of 10 made by a completed order, and a running order that takes it."""
    plant = products(supervisor)
    raw = receive(plant.raw, site, 100, supervisor)
    maker, (op,) = running_order(plant.sub, supervisor, operator, site=site)
    consume(op, operator, raw.code, "25")
    good(op, operator, 10)
    maker.refresh_from_db()
    if maker.status != WorkOrderStatus.COMPLETED:
        production.workorder_transition(
            work_order_id=maker.pk, target="completed", user=supervisor, key=key(), reason="Done"
        )
        maker.refresh_from_db()
    _later, (later,) = running_order(plant.fg, supervisor, operator, site=site)
    return maker, Lot.objects.get(work_order=maker), later


def _release(order, quality) -> None:
    for e in exceptions_for(record_for(order)):
        record_services.record_comment(work_order=order, user=quality, exception_key=e.key, text="Checked.")
    record_services.record_release(work_order=order, user=quality, password=PASSWORD)


def _ship(client, **body):
    body.setdefault("idempotency_key", str(key()))
    return client.post(API, body, content_type="application/json")


def test_a_lot_ships_whole_with_who_when_where_to_in_its_history(client_for, supervisor, made):
    _maker, lot, _later = made

    answer = _ship(client_for(supervisor), lot=lot.code, customer="Acme Pumps", reference="PO-4711")

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["lot"], body["quantity"], body["customer"], body["reference"], body["lot_status"]) == (
        lot.code, "10.000", "Acme Pumps", "PO-4711", "shipped",
    )  # fmt: skip
    shipment = Shipment.objects.get()
    assert shipment.shipped_by == supervisor and shipment.site_id == lot.site_id
    lot.refresh_from_db()
    last = lot.history.order_by("-history_id").first()
    assert lot.status == LotStatus.SHIPPED
    assert (last.status, last.history_user, last.history_change_reason) == (
        "shipped", supervisor, "Shipped to Acme Pumps (PO-4711)",
    )  # fmt: skip
    listed = client_for(supervisor).get(API, {"lot": lot.code}).json()
    assert [s["reference"] for s in listed["results"]] == ["PO-4711"]


def test_a_part_ships_and_what_shipped_is_no_longer_there_to_consume(client_for, supervisor, operator, made):
    _maker, lot, later = made

    assert (
        _ship(
            client_for(supervisor), lot=lot.code, customer="Acme", reference="DN-1", quantity="4"
        ).status_code
        == 201
    )
    lot.refresh_from_db()
    assert lot.status == LotStatus.AVAILABLE

    with pytest.raises(Conflict) as refused:
        consume(later, operator, lot.code, "7")
    assert refused.value.field == "quantity" and "the rest shipped" in refused.value.message
    assert not Consumption.objects.filter(lot=lot).exists()
    too_much = _ship(client_for(supervisor), lot=lot.code, customer="Acme", reference="DN-2", quantity="7")
    assert too_much.status_code == 409 and "quantity" in too_much.json()["errors"]
    assert (
        _ship(client_for(supervisor), lot=lot.code, customer="Acme", reference="DN-2").json()["quantity"]
        == "6.000"
    )
    assert Shipment.objects.filter(lot=lot).count() == 2


def test_a_lot_of_an_unreleased_record_does_not_ship_where_the_site_requires_release(
    client_for, site, supervisor, quality, made
):
    maker, lot, _later = made
    RecordSettings.objects.create(site=site, requires_record_release=True)

    refused = _ship(client_for(supervisor), lot=lot.code, customer="Acme", reference="PO-1")

    assert refused.status_code == 409, refused.content
    assert refused.json()["errors"]["lot"] == [
        f"Lot {lot.code} (made by order {maker.number}): its production record is not released."
    ]
    lot.refresh_from_db()
    assert lot.status == LotStatus.AVAILABLE and not Shipment.objects.exists()

    _release(maker, quality)
    assert _ship(client_for(supervisor), lot=lot.code, customer="Acme", reference="PO-1").status_code == 201


def test_a_held_lot_stays_in_the_plant(client_for, site, supervisor, made):
    _maker, lot, _later = made
    Hold.objects.create(
        target=HoldTarget.LOT, lot_code=lot.code, site=site, reason="Porosity", status=HoldStatus.ACTIVE,
        placed_by=supervisor, placed_at=timezone.now(),
    )  # fmt: skip
    refused = _ship(client_for(supervisor), lot=lot.code, customer="Acme", reference="PO-1")
    assert refused.status_code == 409 and "quality hold (Porosity)" in refused.json()["errors"]["lot"][0]
    assert not Shipment.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"customer": "", "reference": "PO-1"}, 400, "customer"),
        ({"customer": "Acme", "reference": " "}, 400, "reference"),
        ({"customer": "Acme", "reference": "PO-1", "quantity": "-2"}, 400, "quantity"),
        ({"customer": "Acme", "reference": "PO-1", "quantity": "ten"}, 400, "quantity"),
        ({"customer": "Acme", "reference": "PO-1", "quantity": "11"}, 409, "quantity"),
        ({"customer": "Acme", "reference": "PO-1", "shipped_at": "2999-01-01T00:00:00Z"}, 400, "shipped_at"),
        ({"customer": "Acme", "reference": "PO-1", "lot": "NO-SUCH-LOT"}, 404, "lot"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(
    client_for, supervisor, made, body, status, field
):
    _maker, lot, _later = made
    answer = _ship(client_for(supervisor), **{"lot": lot.code, **body})
    assert answer.status_code == status, answer.content
    assert field in answer.json()["errors"]
    lot.refresh_from_db()
    assert lot.status == LotStatus.AVAILABLE and not Shipment.objects.exists()
    assert lot.history.count() == 1  # made, never shipped


def test_a_lot_of_another_site_is_not_found(client_for, make_user, other_site, made):
    _maker, lot, _later = made
    elsewhere = make_user(roles.SUPERVISOR, username="olaf", site=other_site)
    answer = _ship(client_for(elsewhere), lot=lot.code, customer="Acme", reference="PO-1")
    assert answer.status_code == 404 and "lot" in answer.json()["errors"]
    assert not Shipment.objects.exists()


def test_the_desk_ships_and_refuses_at_the_field(client_for, supervisor, made):
    _maker, lot, _later = made
    desk = client_for(supervisor)

    assert desk.get(f"/shipments/?lot={lot.code}").status_code == 200
    refused = desk.post(
        "/shipments/", {"lot": lot.code, "customer": "", "reference": "PO-1", "idempotency_key": str(key())}
    )
    assert refused.status_code == 400 and 'data-field="customer"' in refused.content.decode()
    assert not Shipment.objects.exists()

    # The form carries its own key: a double tap on Ship ships once.
    page = desk.get("/shipments/").content.decode()
    form_key = re.search(r'name="idempotency_key" value="([0-9a-f-]{36})"', page).group(1)
    body = {
        "lot": lot.code,
        "customer": "Acme",
        "reference": "PO-9",
        "quantity": "2",
        "idempotency_key": form_key,
    }
    shipped = desk.post("/shipments/", body, follow=True)
    assert shipped.status_code == 200 and f"Lot {lot.code} shipped" in shipped.content.decode()
    assert desk.post("/shipments/", body).status_code == 302
    assert Shipment.objects.get().reference == "PO-9"
    assert Shipment.objects.get().quantity == 2


def test_a_retried_shipment_ships_once_and_its_key_serves_no_other(client_for, supervisor, made):
    _maker, lot, _later = made
    api = client_for(supervisor)
    tap = str(key())
    first = _ship(api, lot=lot.code, customer="Acme", reference="PO-1", quantity="1", idempotency_key=tap)
    again = _ship(api, lot=lot.code, customer="Acme", reference="PO-1", quantity="1.0", idempotency_key=tap)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Shipment.objects.filter(lot=lot).count() == 1
    other = _ship(api, lot=lot.code, customer="Acme", reference="PO-2", quantity="1", idempotency_key=tap)
    assert other.status_code == 409 and "idempotency_key" in other.json()["errors"]
    missing = api.post(
        API, {"lot": lot.code, "customer": "Acme", "reference": "PO-3"}, content_type="application/json"
    )
    assert missing.status_code == 400 and "idempotency_key" in missing.json()["errors"]
    assert Shipment.objects.filter(lot=lot).count() == 1


def test_the_epcis_trace_tells_the_shipping(client_for, supervisor, made):
    _maker, lot, _later = made
    _ship(client_for(supervisor), lot=lot.code, customer="Acme Pumps", reference="PO 4711")

    document = json.loads(client_for(supervisor).get(f"/trace/{lot.code}/export.epcis").content)

    [shipping] = [e for e in document["epcisBody"]["eventList"] if e.get("bizStep") == "shipping"]
    assert shipping["action"] == "OBSERVE" and shipping["disposition"] == "in_transit"
    assert shipping["quantityList"][0]["quantity"] == float(Decimal(10))
    assert shipping["bizTransactionList"][0]["bizTransaction"].endswith(":desadv:PO%204711")
    assert shipping["destinationList"] == [
        {"type": "owning_party", "destination": "urn:mes:customer:Acme%20Pumps"}
    ]


def test_the_lot_page_shows_its_partial_shipments_and_offers_to_ship_the_rest(client_for, supervisor, made):
    _maker, lot, _later = made
    client = client_for(supervisor)
    page = client.get("/trace/", {"q": lot.code}).content.decode()
    assert 'id="shipments"' not in page
    assert f'href="/shipments/?lot={lot.code}"' in page

    assert (
        _ship(client, lot=lot.code, customer="Acme Pumps", reference="DN-17", quantity="4").status_code == 201
    )

    page = client.get("/trace/", {"q": lot.code}).content.decode()
    shipped = page[page.index('id="shipments"') :]
    assert "Acme Pumps" in shipped and "DN-17" in shipped
    assert f"<td>4 {lot.product.unit}</td>" in shipped  # the part that left, not the whole lot
    assert f'href="/shipments/?lot={lot.code}"' in page  # 6 are left to ship
    assert _ship(client, lot=lot.code, customer="Acme Pumps", reference="DN-18").status_code == 201
    page = client.get("/trace/", {"q": lot.code}).content.decode()
    assert f'href="/shipments/?lot={lot.code}"' not in page  # all of it has left
    assert page.count("DN-1") == 2
