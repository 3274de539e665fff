"""One request id follows a tap from the tablet through its ledger event, its outbox message and
its delivery to the ERP, in the JSON log lines and on the message itself."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
from django.utils.module_loading import import_string

from integration.models import OutboxMessage
from integration.services import outbox_deliver_due
from mes.tests.servers import wait_until
from workorders.models import ProductionEvent
from workorders.tests.factories import released_order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def json_log(settings):
    """Every log line of the test as the plant's log collector gets it (one JSON object each)."""
    config = dict(settings.LOGGING["formatters"]["json"])
    config["fmt"] = config.pop("format")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(import_string(config.pop("()"))(**config))
    handler.addFilter(import_string(settings.LOGGING["filters"]["context"]["()"])())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


def test_a_tap_its_event_its_message_and_its_delivery_share_one_request_id(
    client_for, supervisor, operator, workstation, fake_erp, json_log
):
    tablet = client_for(supervisor)
    assert tablet.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet 1"}).status_code == 302
    tablet.post("/logout/")
    assert tablet.post("/tablet/sign-in/", {"badge_number": "1001", "pin": "1234"}).status_code == 302
    order = released_order(user=supervisor, workstations=[workstation], quantity=10)
    operation = order.operations.get()
    for kind, extra, request_id in (
        ("start", {}, "tap-start-1"),
        ("good", {"quantity": "2"}, "tap-good-1"),
    ):
        response = tablet.post(
            "/workstation/events/",
            {"kind": kind, "operation": operation.pk, "idempotency_key": str(uuid.uuid4()), **extra},
            HTTP_X_REQUEST_ID=request_id,
        )
        assert response.status_code == 200, response.content
        assert response["X-Request-ID"] == request_id

    event = ProductionEvent.objects.get(kind="complete")
    message = OutboxMessage.objects.get(event=event)
    assert message.request_id == "tap-good-1"
    outbox_deliver_due()  # or the embedded deliverer thread, nudged by the commit, got there first

    def trail() -> list[dict]:
        lines = [line for line in json_log() if line.get("request_id") == "tap-good-1"]
        delivered = any(f"ERP delivery of message {message.pk}" in line["message"] for line in lines)
        return lines if delivered else []

    lines = wait_until(trail, 10, "no delivery of the completion was logged")
    said = " | ".join(line["message"] for line in lines)
    assert f"production event {event.pk}: complete" in said
    assert f"outbox message {message.pk} (completion)" in said
    assert f"ERP delivery of message {message.pk}" in said and "acknowledged" in said
    ledger_line = next(line for line in lines if line["logger"] == "workorders.ledger")
    assert (ledger_line["user"], ledger_line["workstation"]) == (operator.username, workstation.code)
    assert ledger_line["site"] == workstation.line.site.code
