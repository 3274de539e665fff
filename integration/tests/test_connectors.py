"""What the connectors send: B2MML valid against MESA's official XSD, JSON as mapped; the render command."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from lxml import etree

from integration.connectors import render_b2mml, render_json
from integration.connectors.base import read_answer
from integration.models import OutboxMessage
from workorders import services
from workorders.tests.factories import key

XSD_DIR = Path(settings.STANDARDS_DIR) / "b2mml" / "Schema"
B2MML = "{http://www.mesa.org/xml/B2MML}"


@pytest.fixture(scope="module")
def schema():
    xsd = XSD_DIR / "B2MML-OperationsPerformance.xsd"
    if not xsd.exists():
        pytest.skip(f"the B2MML schemas are not at {XSD_DIR} (set MES_STANDARDS_DIR)")
    return etree.XMLSchema(etree.parse(str(xsd)))


def _valid(schema, body: bytes):
    document = etree.fromstring(body)
    if not schema.validate(document):
        raise AssertionError(str(schema.error_log))
    return document


def test_completion_as_b2mml_is_valid_and_produced(started, schema):
    message = OutboxMessage.objects.get(event=started.good(5).event)
    doc = _valid(schema, render_b2mml(message))
    assert doc.tag == f"{B2MML}ProcessOperationsPerformance"
    assert doc.findtext(f".//{B2MML}OperationsPerformance/{B2MML}OperationsType") == "Production"
    actual = doc.find(f".//{B2MML}MaterialActual")
    assert actual.findtext(f"{B2MML}MaterialUse") == "Produced"
    assert actual.findtext(f"{B2MML}MaterialDefinitionID") == started.order.product.part_number
    assert actual.findtext(f"{B2MML}Quantity/{B2MML}QuantityString") == "5"
    assert actual.findtext(f"{B2MML}Quantity/{B2MML}UnitOfMeasure") == "pcs"
    assert doc.findtext(f".//{B2MML}BODID") == str(message.idempotency_key)
    assert doc.findtext(f".//{B2MML}OperationsRequestID") == started.order.number
    assert doc.findtext(f".//{B2MML}HierarchyScope/{B2MML}EquipmentID") == "PLANT1"


def test_scrap_as_b2mml_is_other_with_other_value_scrap(started, schema):
    message = OutboxMessage.objects.get(event=started.scrap(2, reason="SCRATCH").event)
    doc = _valid(schema, render_b2mml(message))
    use = doc.find(f".//{B2MML}MaterialActual/{B2MML}MaterialUse")
    assert (use.text, use.get("OtherValue")) == ("Other", "Scrap")
    assert "SCRATCH" in doc.findtext(f".//{B2MML}MaterialActual/{B2MML}Description")


def test_order_status_as_b2mml_is_valid_and_held(started, supervisor, schema):
    services.workorder_transition(
        work_order_id=started.order.pk, target="on_hold", user=supervisor, key=key(), reason_code="QHOLD"
    )
    message = OutboxMessage.objects.filter(message_type="order_status").latest("sequence")
    doc = _valid(schema, render_b2mml(message))
    assert doc.findtext(f".//{B2MML}OperationsResponse/{B2MML}ResponseState") == "Held"


def test_a_consumed_lot_is_a_message_in_the_components_terms_valid_as_b2mml(
    site, supervisor, operator, schema
):
    from workorders.tests.lotdata import consume, products, receive, running_order

    plant = products(supervisor)
    raw = receive(plant.raw, site, 100, supervisor, code="BAR-7")
    order, (op,) = running_order(plant.sub, supervisor, operator, site=site)
    event = consume(op, operator, raw.code, "12.5").event
    message = OutboxMessage.objects.get(event=event)
    assert message.message_type == "consumption"
    p = message.payload
    assert (p["order_number"], p["material"], p["unit"], p["lot"], p["quantity"]) == (
        order.number,
        "RAW-1",
        "kg",
        "BAR-7",
        "12.5",
    )
    assert p["supplier_lot"] == "A1"
    doc = _valid(schema, render_b2mml(message))
    actual = doc.find(f".//{B2MML}MaterialActual")
    assert actual.findtext(f"{B2MML}MaterialUse") == "Consumed"
    assert actual.findtext(f"{B2MML}MaterialDefinitionID") == "RAW-1"
    assert actual.findtext(f"{B2MML}MaterialLotID") == "BAR-7"
    assert actual.findtext(f"{B2MML}Quantity/{B2MML}UnitOfMeasure") == "kg"


def test_json_is_the_payload(started):
    message = OutboxMessage.objects.get(event=started.good(1).event)
    assert json.loads(render_json(message)) == message.payload


@pytest.mark.parametrize("connector", ["json", "b2mml"])
def test_outbox_render_prints_exactly_what_the_connector_sends(started, connector):
    from integration.connectors import RENDERERS

    message = OutboxMessage.objects.get(event=started.good(1).event)
    out = StringIO()
    call_command("outbox_render", str(message.pk), "--connector", connector, stdout=out)
    expected = RENDERERS[connector](message).decode()
    assert out.getvalue().rstrip("\n") == expected.rstrip("\n")


def test_outbox_render_names_a_missing_message(db):
    with pytest.raises(CommandError, match="No outbox message 999"):
        call_command("outbox_render", "999")


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (200, {"status": "acknowledged", "reference": "R1"}, "acknowledged"),
        (200, {"status": "rejected", "reason": "no"}, "rejected"),
        (200, {"status": "what"}, "retry"),
        (200, "<html/>", "retry"),
        (422, {"status": "rejected", "reason": "Unknown material"}, "rejected"),
        (404, "nope", "rejected"),
        (429, {}, "retry"),
        (500, {}, "retry"),
        (503, "down", "retry"),
    ],
)
def test_the_erps_answers_are_read_by_the_rules(status, body, outcome):
    import httpx

    content = json.dumps(body).encode() if isinstance(body, dict) else body.encode()
    assert read_answer(httpx.Response(status, content=content)).outcome == outcome
