"""The fake ERP, spoken to over HTTP as a real process: each key applied once, business rejections,
totals per order, fault commands."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

pytestmark = pytest.mark.integration


def _message(**overrides) -> dict:
    body = {
        "message_type": "completion",
        "idempotency_key": str(uuid.uuid4()),
        "sequence": 1,
        "plant": "PLANT1",
        "order_number": "WO-1",
        "material": "FG-100",
        "unit": "pcs",
        "operation": {"sequence": 10, "last": True},
        "quantity": "3",
    }
    body.update(overrides)
    return body


def _post(erp, body, path="/messages", timeout=5.0):
    headers = {"Idempotency-Key": body["idempotency_key"]}
    return httpx.post(f"{erp.url}{path}", content=json.dumps(body).encode(), headers=headers, timeout=timeout)


def test_a_key_is_applied_once_and_a_repeat_gets_the_first_acknowledgement(fake_erp_session):
    erp = fake_erp_session
    erp.reset()
    body = _message()
    first = _post(erp, body).json()
    again = _post(erp, body).json()
    assert first["status"] == "acknowledged" and not first["duplicate"]
    assert again["reference"] == first["reference"] and again["duplicate"]
    assert erp.order("WO-1")["good"] == "3"
    assert erp.stats()["unique"] == 1 and erp.stats()["duplicates"] == 1


def test_unknown_material_and_closed_order_are_refused_with_a_business_reason(fake_erp_session):
    erp = fake_erp_session
    erp.reset()
    erp.catalog(materials=["FG-100"], closed_orders=["WO-CLOSED"])
    refused = _post(erp, _message(material="NOPE"))
    assert refused.status_code == 422
    assert refused.json()["code"] == "unknown_material"
    closed = _post(erp, _message(order_number="WO-CLOSED"))
    assert closed.status_code == 422 and "closed" in closed.json()["reason"]
    assert erp.stats()["unique"] == 0


def test_unparsable_bodies_are_refused(fake_erp_session):
    erp = fake_erp_session
    erp.reset()
    assert httpx.post(f"{erp.url}/messages", content=b"{not json", timeout=5).status_code == 400
    bad_xml = httpx.post(f"{erp.url}/b2mml", content=b"<a><b></a>", timeout=5)
    assert bad_xml.status_code == 400 and bad_xml.json()["code"] == "unparsable"


def test_an_order_closed_by_a_status_message_refuses_later_but_not_earlier_messages(fake_erp_session):
    erp = fake_erp_session
    erp.reset()
    close = _message(message_type="order_status", sequence=5, status={"from": "completed", "to": "closed"})
    assert _post(erp, close).status_code == 200
    assert _post(erp, _message(sequence=4)).status_code == 200  # late, but from before the close
    assert _post(erp, _message(sequence=6)).status_code == 422


def test_fault_commands(fake_erp_session):
    erp = fake_erp_session
    erp.reset()
    assert httpx.post(f"{erp.url}/_faults", json={"explode": 1}, timeout=5).status_code == 400
    erp.faults(error_rate=1.0)
    assert _post(erp, _message()).status_code == 500
    erp.faults(down=True)
    with pytest.raises(httpx.HTTPError):
        _post(erp, _message())
    erp.faults(timeout_rate=1.0, hang_seconds=1)
    with pytest.raises(httpx.TimeoutException):
        _post(erp, _message(), timeout=0.3)
    erp.faults()
    assert erp.stats()["unique"] == 1  # the timed-out message was applied; only its answer was lost
