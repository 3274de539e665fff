"""Part, lot and order numbers are identifiers: letters, digits and `- _ .`, beginning with a letter
or digit. One typed as a spreadsheet formula (or with a `/` that would split a URL) is refused with
the field named, and nothing is written."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from mes import roles
from mes.errors import ValidationFailed
from mes.tests.factories import WorkstationFactory
from workorders import services
from workorders.models import Lot, Product, WorkOrder
from workorders.states import Tracking
from workorders.tests.factories import ProductFactory, routing_with


@pytest.fixture
def raw(db):
    return ProductFactory(part_number="RAW-1", unit="kg", tracking=Tracking.LOT)


@pytest.fixture
def admin_api(make_user):
    client = APIClient()
    client.force_authenticate(make_user(roles.ADMIN, username="ada"))
    return client


@pytest.mark.parametrize("code", ["=1+1", "+1", "-7", "@A1", "LOT 7", "LOT/7", " =1"])
def test_a_supplier_lot_with_a_bad_code_is_refused_naming_the_code(client_for, supervisor, raw, code):
    before = Lot.objects.count()

    response = client_for(supervisor).post(
        "/api/v1/lots/",
        {"product": "RAW-1", "quantity": "5", "code": code, "supplier": "=HYPERLINK(1)"},
        content_type="application/json",
    )

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["code"]
    assert Lot.objects.count() == before


def test_a_supplier_lot_with_a_plain_code_and_a_free_text_supplier_is_received(client_for, supervisor, raw):
    response = client_for(supervisor).post(
        "/api/v1/lots/",
        {"product": "RAW-1", "quantity": "5", "code": "RAW-2026.04_a", "supplier": "=Acme, Inc."},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert Lot.objects.get(code="RAW-2026.04_a").supplier == "=Acme, Inc."


@pytest.mark.parametrize("part_number", ["=2+3", "-2", "@SUM", "A B", "A/B", ""])
def test_a_product_with_a_bad_part_number_is_refused_naming_the_field(admin_api, part_number):
    response = admin_api.post(
        "/api/v1/products/",
        {"part_number": part_number, "name": "Pump", "unit": "pcs", "tracking": "lot"},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["part_number"]
    assert Product.objects.count() == 0


def test_a_product_with_a_plain_part_number_is_created(admin_api):
    response = admin_api.post(
        "/api/v1/products/", {"part_number": "FG-100.2_B", "name": "Pump", "unit": "pcs"}, format="json"
    )

    assert response.status_code == 201, response.content


@pytest.mark.parametrize(("number", "status"), [("=1+2", 400), ("WO/7", 400), ("WO-2026.7_a", 201)])
def test_a_work_order_number_must_be_an_identifier(client_for, supervisor, number, status):
    station = WorkstationFactory(line__site=supervisor.sites.first())
    routing = routing_with([station])

    response = client_for(supervisor).post(
        "/api/v1/work-orders/",
        {
            "number": number,
            "product": routing.product_id,
            "routing": routing.pk,
            "line": station.line_id,
            "quantity": "10",
        },
        content_type="application/json",
    )

    assert response.status_code == status, response.content
    if status == 400:
        assert list(response.json()["errors"]) == ["number"]
    assert WorkOrder.objects.count() == (1 if status == 201 else 0)


def test_lot_numbers_made_from_a_prefix_stay_identifiers(supervisor, raw):
    """Lots are numbered `<prefix><date><sequence>`: a prefix a spreadsheet would run is refused."""
    raw.number_prefix = "=R"
    with pytest.raises(ValidationFailed) as refused:
        services.master_data_save(instance=raw, user=supervisor, reason="test")
    assert refused.value.field == "number_prefix"
    raw.refresh_from_db()
    assert raw.number_prefix == ""
