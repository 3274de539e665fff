"""Asking for delivery of the outbox: a nudge after a commit that made messages due.

With a broker, the nudge is the `integration.deliver_outbox` task, sent by name: the modules that
nudge (the handlers, the console) sit above the outbox services, and the tasks call those
services, so importing the tasks here would close a loop. In the embedded mode (no broker) the
nudge wakes this process's deliverer thread instead of running delivery inside the request.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.conf import settings
from django.core.cache import cache

from integration import embedded

log = logging.getLogger("integration.delivery")
DELIVER_TASK = "integration.deliver_outbox"
NUDGE_KEY = "integration:outbox-nudge"


def nudge_delivery() -> None:
    """After a commit that wrote or freed outbox rows: deliver soon. Never raises; the sweep is the net."""
    if current_app.conf.task_always_eager:
        embedded.nudge()
        return
    # One queued nudge is enough: a burst of commits sends one task, not one each.
    if not cache.add(NUDGE_KEY, 1, timeout=settings.ERP_NUDGE_TTL_SECONDS):
        return
    try:
        current_app.send_task(DELIVER_TASK, retry=False, ignore_result=True)
    except Exception as exc:  # broker down: the rows wait for the sweep
        cache.set(NUDGE_KEY, 1, timeout=settings.ERP_NUDGE_TTL_SECONDS * 2)
        log.warning("could not nudge outbox delivery (%s); the beat sweep will deliver", exc)
