"""The integration part of the demo plant: the fake ERP as the target, and the messages delivered.

`make run` starts the fake ERP (`manage.py fake_erp`) on FAKE_ERP_PORT (default 8001) before it
seeds; the seeder points the ERP endpoint record at it (unless ERP_URL is set in the environment)
and delivers what production seeding wrote, so the console opens with messages flowing.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from django.db import transaction

from integration import embedded
from integration.models import ErpEndpoint, OutboxMessage
from integration.states import MessageStatus
from mes.models import User
from workorders.demo.data import ADMIN


def fake_erp_url() -> str:
    return os.environ.get("FAKE_ERP_URL") or f"http://127.0.0.1:{os.environ.get('FAKE_ERP_PORT', '8001')}"


def quiet(say: Callable[[str], None]) -> None:
    # seed_demo is a short-lived process: no background delivery thread; it delivers at its end.
    embedded.enabled = False


@transaction.atomic
def _endpoint(say: Callable[[str], None]) -> None:
    if not ErpEndpoint.objects.exists():
        url = fake_erp_url()
        endpoint = ErpEndpoint(name="fake-erp", connector=ErpEndpoint.Connector.JSON, url=url)
        endpoint._history_user = User.objects.filter(username=ADMIN).first()
        endpoint._change_reason = "Demo plant: the fake ERP (manage.py fake_erp)"
        endpoint.full_clean()
        endpoint.save()
        say(f"ERP endpoint {url} (the fake ERP)")


def seed_integration(say: Callable[[str], None]) -> None:
    _endpoint(say)
    handled = embedded.drain()
    acknowledged = OutboxMessage.objects.filter(status=MessageStatus.ACKNOWLEDGED).count()
    pending = OutboxMessage.objects.filter(status=MessageStatus.PENDING).count()
    say(f"outbox: {handled} messages sent, {acknowledged} acknowledged, {pending} pending")
