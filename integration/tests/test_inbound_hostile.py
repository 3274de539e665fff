"""The ERP's inbound API against hostile bodies: NUL characters, JSON nested ten thousand deep,
XML with a DOCTYPE, values of the wrong type. Each is refused with 400 naming the reason, nothing
is applied, and the record is kept for the console (its body readable, a NUL escaped)."""

from __future__ import annotations

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integration.models import InboundRecord
from mes.parsers import MAX_DEPTH
from mes.tests.rows import changed, row_counts
from workorders.models import Product

INBOUND = ("integration_inboundrecord",)


@pytest.fixture
def api(make_user):
    client = APIClient()
    erp = make_user("erp", username="erp-api")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=erp).key}")
    return client


def parked() -> InboundRecord:
    record = InboundRecord.objects.get()
    assert record.outcome == "refused"
    return record


@pytest.mark.postgres
def test_a_nul_in_a_json_field_is_refused_and_kept_escaped_for_the_console(api):
    """PostgreSQL refused the NUL: the request answered 500 and the console never saw it."""
    before = row_counts()
    body = {"records": [{"type": "product", "key": "FG-1", "data": {"name": "Pump\x00", "unit": "pcs"}}]}
    response = api.post("/api/v1/erp/bulk/", body, format="json")
    assert response.status_code == 400
    assert "records[0].data.name" in response.json()["errors"]
    assert changed(before, row_counts(), allowed=INBOUND) == {}
    record = parked()
    assert "Pump\\u0000" in record.body and "NUL" in record.reason


@pytest.mark.postgres
def test_a_nul_byte_in_an_unreadable_body_is_kept_escaped(api):
    response = api.put("/api/v1/erp/products/FG-1/", b'{"name": "a\x00b"', content_type="application/json")
    assert response.status_code == 400
    record = parked()
    assert record.code == "parse_error" and "\\u0000" in record.body and "\x00" not in record.body


@pytest.mark.postgres
def test_a_nul_in_the_erp_key_is_refused(api):
    response = api.put("/api/v1/erp/products/FG%00/", {"name": "Pump", "unit": "pcs"}, format="json")
    assert response.status_code == 400 and "path" in response.json()["errors"]


@pytest.mark.parametrize("url", ["/api/v1/erp/bulk/", "/api/v1/erp/products/FG-1/"])
def test_json_nested_ten_thousand_deep_is_refused_and_parked(api, url):
    """The decoder raised RecursionError: a 500."""
    body = '{"records": ' + "[" * 10_000 + "]" * 10_000 + "}"
    send = api.post if url.endswith("bulk/") else api.put
    before = row_counts()
    response = send(url, body, content_type="application/json")
    assert response.status_code == 400
    assert f"deeper than {MAX_DEPTH}" in response.json()["detail"]
    assert changed(before, row_counts(), allowed=INBOUND) == {}
    assert "deeper" in parked().reason


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE records [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<records><record type="product" key="FG-1"><name>&secret;</name><unit>pcs</unit></record></records>"""
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<record><name>&b;</name><unit>pcs</unit></record>"""
PLAIN_DOCTYPE = (
    b"""<!DOCTYPE records><records><record type="product" key="FG-1"><name>P</name></record></records>"""
)


@pytest.mark.parametrize(
    ("url", "xml"),
    [("/api/v1/erp/bulk/", XXE), ("/api/v1/erp/products/FG-1/", BOMB), ("/api/v1/erp/bulk/", PLAIN_DOCTYPE)],
)
def test_xml_with_a_doctype_is_refused_and_parked(api, url, xml):
    """An entity node reached the record reader and the request answered 500."""
    send = api.post if url.endswith("bulk/") else api.put
    before = row_counts()
    response = send(url, xml, content_type="application/xml")
    assert response.status_code == 400
    assert "DOCTYPE" in response.json()["detail"]
    assert changed(before, row_counts(), allowed=INBOUND) == {}
    record = parked()
    assert "DOCTYPE" in record.reason and "<!DOCTYPE" in record.body and "root:" not in record.body


def test_xml_comments_and_processing_instructions_are_skipped(api):
    xml = b"""<records><!-- from the ERP --><?erp batch="7"?>
    <record type="product" key="FG-1"><!-- a pump --><name>Pump</name><unit>pcs</unit></record></records>"""
    response = api.post("/api/v1/erp/bulk/", xml, content_type="application/xml")
    assert response.status_code == 200, response.content
    assert response.json()["applied"] == 1


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/erp/products/FG-1/", {"name": ["Pump"], "unit": "pcs"}, "name"),
        ("/api/v1/erp/products/FG-1/", {"name": "Pump", "unit": {"kg": 1}}, "unit"),
        ("/api/v1/erp/products/FG-1/", {"name": True, "unit": "pcs"}, "name"),
        ("/api/v1/erp/work-orders/WO-1/", {"material": ["FG-1"], "quantity": "1"}, "material"),
        ("/api/v1/erp/boms/FG-1/", {"lines": [{"component": {"a": 1}, "quantity": 1}]}, "lines[0].component"),
    ],
)
def test_values_of_the_wrong_type_are_refused_naming_the_field(api, url, body, field):
    """A list or an object where text belongs reached `.strip()`: a 500."""
    if "boms" in url:
        api.put("/api/v1/erp/products/FG-1/", {"name": "Pump", "unit": "pcs"}, format="json")
        InboundRecord.objects.all().delete()
    before = row_counts()
    response = api.put(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert changed(before, row_counts(), allowed=INBOUND) == {}
    assert parked().field == field


@pytest.mark.parametrize("url", ["/api/v1/erp/bulk/", "/api/v1/erp/products/FG-1/"])
def test_a_form_instead_of_json_or_xml_is_refused(api, url):
    """A form POST is read by Django (for NUL characters and CSRF) before the view keeps the raw
    body for the console; the answer must still be a refusal, not a 500."""
    send = api.post if url.endswith("bulk/") else api.put
    before = row_counts()
    response = send(url, {"name": "Pump", "unit": "pcs"}, format="multipart")
    assert 400 <= response.status_code < 500
    assert changed(before, row_counts(), allowed=INBOUND) == {}
    assert not Product.objects.exists()
