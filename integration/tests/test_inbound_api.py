"""The ERP's inbound API: idempotent upserts by ERP key, per-record answers, order-change rules,
bad input refused with the field and the reason and nothing half-applied, every change audited."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integration.models import InboundRecord
from mes.tests.factories import WorkstationFactory
from workorders.models import BomLine, Product, Routing, WorkOrder
from workorders.tests.factories import key


@pytest.fixture
def erp_user(make_user):
    return make_user("erp", username="erp-api")


@pytest.fixture
def api(erp_user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=erp_user).key}")
    return client


@pytest.fixture
def stations(site):
    first = WorkstationFactory(line__site=site, line__code="MACH", code="CNC1")
    second = WorkstationFactory(line=first.line, code="MILL1")
    return first, second


def put(api, url, body):
    return api.put(url, body, format="json")


def _product(api, pn="FG-1", unit="pcs", name="Pump"):
    return put(api, f"/api/v1/erp/products/{pn}/", {"name": name, "unit": unit})


def _routing(api, pn="FG-1"):
    return put(
        api,
        f"/api/v1/erp/routings/{pn}/STD/",
        {
            "name": "Standard",
            "operations": [
                {"sequence": 10, "name": "Turn", "workstation": "MACH/CNC1", "ideal_cycle_seconds": "60"},
                {"sequence": 20, "name": "Mill", "workstation": "MILL1", "ideal_cycle_seconds": "45"},
            ],
        },
    )


def _order(api, number="WO-9", **data):
    body = {"material": "FG-1", "quantity": "10", "status": "released", **data}
    return put(api, f"/api/v1/erp/work-orders/{number}/", body)


def test_products_are_upserted_idempotently_with_the_erp_as_author(api, erp_user):
    first = _product(api)
    assert first.status_code == 201 and first.json()["outcome"] == "created"
    assert _product(api).json()["outcome"] == "unchanged"
    changed = _product(api, name="Gear pump")
    assert changed.status_code == 200 and changed.json()["outcome"] == "updated"
    product = Product.objects.get(part_number="FG-1")
    assert product.name == "Gear pump"
    history = list(product.history.all())
    assert len(history) == 2  # created, renamed; the repeat wrote nothing
    assert {h.history_user for h in history} == {erp_user}
    assert {h.history_change_reason for h in history} == {"ERP update"}


def test_bom_lines_are_replaced_with_unit_conversion(api):
    _product(api)
    _product(api, "RAW-1", unit="kg", name="Bar stock")
    _product(api, "SEAL-1", name="Seal")
    body = {
        "lines": [
            {"component": "RAW-1", "quantity": "1350", "unit": "g"},
            {"component": "SEAL-1", "quantity": 2},
        ]
    }
    assert put(api, "/api/v1/erp/boms/FG-1/", body).json()["outcome"] == "created"
    assert put(api, "/api/v1/erp/boms/FG-1/", body).json()["outcome"] == "unchanged"
    lines = {b.component.part_number: b.quantity for b in BomLine.objects.all()}
    assert lines == {"RAW-1": Decimal("1.35"), "SEAL-1": Decimal("2")}
    assert (
        put(api, "/api/v1/erp/boms/FG-1/", {"lines": [{"component": "SEAL-1", "quantity": 3}]}).json()[
            "outcome"
        ]
        == "updated"
    )
    assert {b.component.part_number for b in BomLine.objects.all()} == {"SEAL-1"}


def test_routings_and_work_orders_are_created_then_unchanged(api, stations):
    _product(api)
    assert _routing(api).json()["outcome"] == "created"
    assert _routing(api).json()["outcome"] == "unchanged"
    created = _order(api)
    assert created.status_code == 201, created.json()
    order = WorkOrder.objects.get(number="WO-9")
    assert order.status == "released" and order.operations.count() == 2
    assert _order(api).json()["outcome"] == "unchanged"
    assert WorkOrder.objects.get(number="WO-9").version == order.version


def test_order_quantity_cant_drop_below_completed(api, stations, operator):
    _product(api)
    _routing(api)
    _order(api, quantity="10")
    order = WorkOrder.objects.get(number="WO-9")
    from workorders import services

    op = order.operations.order_by("-sequence").first()
    first = order.operations.order_by("sequence").first()
    services.operation_start(operation_id=first.pk, workstation=first.workstation, user=operator, key=key())
    services.operation_start(operation_id=op.pk, workstation=op.workstation, user=operator, key=key())
    services.operation_record_good(
        operation_id=op.pk, workstation=op.workstation, user=operator, quantity=6, key=key()
    )
    refused = _order(api, quantity="5")
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "quantity": ["The quantity can't be less than the 6 already completed."]
    }
    assert WorkOrder.objects.get(number="WO-9").quantity == 10
    assert _order(api, quantity="12").json()["outcome"] == "updated"


def test_a_cancelled_order_cant_be_reopened(api, stations):
    _product(api)
    _routing(api)
    _order(api)
    assert _order(api, status="cancelled", reason="Customer cancelled").json()["outcome"] == "updated"
    reopened = _order(api, status="released")
    assert reopened.status_code == 409
    assert "can't be reopened" in reopened.json()["errors"]["status"][0]
    assert WorkOrder.objects.get(number="WO-9").status == "cancelled"


@pytest.mark.requirement("A11-5")
@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"material": "NOPE", "quantity": "1"}, "material", "unknown_product"),
        ({"quantity": "1"}, "material", "required"),
        ({"material": "FG-1"}, "quantity", "required"),
        ({"material": "FG-1", "quantity": "lots"}, "quantity", "not_a_number"),
        ({"material": "FG-1", "quantity": "2", "unit": "kg"}, "unit", "unit_mismatch"),
        ({"material": "FG-1", "quantity": "2", "unit": "furlong"}, "unit", "unknown_unit"),
        ({"material": "FG-1", "quantity": "2", "due": "tomorrow"}, "due", "invalid_time"),
    ],
)
def test_bad_work_orders_are_refused_with_the_field_and_logged_with_the_record(
    api, stations, body, field, code
):
    _product(api)
    _routing(api)
    response = put(api, "/api/v1/erp/work-orders/WO-BAD/", body)
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"] and response.json()["code"] == code
    assert not WorkOrder.objects.filter(number="WO-BAD").exists()
    parked = InboundRecord.objects.get(erp_key="WO-BAD")
    assert parked.outcome == "refused" and parked.field == field and parked.reason and parked.body


@pytest.mark.requirement("A11-5")
def test_nothing_is_half_applied(api, stations):
    _product(api)
    _product(api, "SEAL-1")
    put(api, "/api/v1/erp/boms/FG-1/", {"lines": [{"component": "SEAL-1", "quantity": 1}]})
    # The second line is bad: the first must not be applied either.
    bad = {"lines": [{"component": "SEAL-1", "quantity": 5}, {"component": "GHOST", "quantity": 1}]}
    response = put(api, "/api/v1/erp/boms/FG-1/", bad)
    assert response.status_code == 400 and "lines[1].component" in response.json()["errors"]
    assert BomLine.objects.get().quantity == 1


def test_unparsable_json_and_xml_are_refused_and_parked(api):
    response = api.put("/api/v1/erp/products/FG-1/", b'{"name": "Pump", ', content_type="application/json")
    assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]
    response = api.post(
        "/api/v1/erp/bulk/", b"<records><record type='product'>", content_type="application/xml"
    )
    assert response.status_code == 400 and "XML parse error" in response.json()["detail"]
    parked = list(InboundRecord.objects.filter(kind="unknown").order_by("id"))
    assert [p.code for p in parked] == ["parse_error", "parse_error"]
    assert parked[0].body.startswith('{"name": "Pump"')


def test_bulk_answers_per_record_and_refuses_a_duplicate_key_with_a_different_body(api, stations):
    records = [
        {"type": "product", "key": "FG-1", "data": {"name": "Pump", "unit": "pcs"}},
        {"type": "product", "key": "FG-2", "data": {"name": "Valve", "unit": "pcs"}},
        {"type": "product", "key": "FG-2", "data": {"name": "Valve body", "unit": "pcs"}},
        {"type": "product", "key": "FG-3", "data": {"unit": "pcs"}},
        {"type": "gizmo", "key": "X", "data": {}},
        {"type": "product", "key": "FG-1", "data": {"name": "Pump", "unit": "pcs"}},
    ]
    response = api.post("/api/v1/erp/bulk/", {"records": records}, format="json")
    assert response.status_code == 207
    outcomes = [(r["key"], r["outcome"]) for r in response.json()["results"]]
    assert outcomes == [
        ("FG-1", "created"),
        ("FG-2", "refused"),
        ("FG-2", "refused"),
        ("FG-3", "refused"),
        ("X", "refused"),
        ("FG-1", "unchanged"),
    ]
    results = response.json()["results"]
    assert results[1]["code"] == "duplicate_key"
    assert results[3]["errors"] == {"name": ["name is required."]}
    assert set(Product.objects.values_list("part_number", flat=True)) == {"FG-1"}


def test_bulk_in_xml(api, stations):
    xml = b"""<records>
      <record type="product" key="FG-1"><name>Pump</name><unit>pcs</unit></record>
      <record type="routing" key="FG-1/STD"><name>Standard</name>
        <operation><sequence>10</sequence><name>Turn</name><workstation>CNC1</workstation><ideal_cycle_seconds>60</ideal_cycle_seconds></operation>
      </record>
      <record type="work_order" key="WO-X"><material>FG-1</material><quantity>4</quantity></record>
    </records>"""
    response = api.post("/api/v1/erp/bulk/", xml, content_type="application/xml")
    assert response.status_code == 200, response.json()
    assert Routing.objects.get(code="STD").operations.count() == 1
    assert WorkOrder.objects.get(number="WO-X").status == "draft"


def test_only_the_erp_may_push(client_for, supervisor):
    response = client_for(supervisor).put(
        "/api/v1/erp/products/FG-1/", {"name": "x", "unit": "pcs"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert APIClient().put("/api/v1/erp/products/FG-1/", {}, format="json").status_code in (401, 403)
