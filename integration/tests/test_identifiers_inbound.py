"""The ERP's products and orders obey the same identifier rule as the desk's: a part or order
number a spreadsheet would run as a formula is refused with the field, parked, and not applied."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integration.models import InboundRecord
from mes.tests.factories import WorkstationFactory
from workorders.models import Product, WorkOrder


@pytest.fixture
def api(make_user):
    client = APIClient()
    erp = make_user("erp", username="erp-api")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=erp).key}")
    return client


def test_an_erp_product_with_a_formula_part_number_is_refused(api):
    response = api.put("/api/v1/erp/products/=2+3/", {"name": "Pump", "unit": "pcs"}, format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["part_number"]
    assert Product.objects.count() == 0
    assert InboundRecord.objects.get(erp_key="=2+3").outcome == "refused"


def test_an_erp_order_with_a_formula_number_is_refused(api, site):
    WorkstationFactory(line__site=site, line__code="MACH", code="CNC1")
    assert (
        api.put("/api/v1/erp/products/FG-1/", {"name": "Pump", "unit": "pcs"}, format="json").status_code
        == 201
    )
    routing = {
        "name": "Std",
        "operations": [
            {"sequence": 10, "name": "Turn", "workstation": "MACH/CNC1", "ideal_cycle_seconds": "60"}
        ],
    }
    assert api.put("/api/v1/erp/routings/FG-1/STD/", routing, format="json").status_code == 201

    response = api.put("/api/v1/erp/work-orders/=1+2/", {"material": "FG-1", "quantity": "10"}, format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["number"]
    assert WorkOrder.objects.count() == 0
