"""Asking for delivery of the outbox: a nudge after a commit that made messages due.

With a broker, the nudge is the `integration.deliver_outbox` task, sent by name: the modules that
nudge (the handlers, the console) sit above the outbox services, and the tasks call those
services, so importing the tasks here would close a loop. In the embedded mode (no broker) the
nudge wakes this process's deliverer thread instead of running delivery inside the request.
With no ERP configured there is nothing to wake, and asking the database for an endpoint at every
commit would cost each production tap a query: a process that found none stops asking for
`ERP_SWEEP_SECONDS`, or until an endpoint is saved in it (another process's change is seen once
that pause is over; the messages wait as pending meanwhile, as they did without an endpoint).
"""

from __future__ import annotations

import logging
import time

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from integration import embedded
from integration.models import ErpEndpoint

log = logging.getLogger("integration.delivery")
DELIVER_TASK = "integration.deliver_outbox"
NUDGE_KEY = "integration:outbox-nudge"
# Until then (a monotonic time), the embedded mode knows no ERP is configured: nudges do nothing.
_unconfigured_until = 0.0


def nudge_delivery() -> None:
    """After a commit that wrote or freed outbox rows: deliver soon. Never raises; the sweep is the net."""
    global _unconfigured_until
    if current_app.conf.task_always_eager:
        if not settings.ERP_URL and time.monotonic() < _unconfigured_until:
            return
        if not embedded.nudge():
            _unconfigured_until = time.monotonic() + settings.ERP_SWEEP_SECONDS
        return
    # One queued nudge is enough: a burst of commits sends one task, not one each.
    if not cache.add(NUDGE_KEY, 1, timeout=settings.ERP_NUDGE_TTL_SECONDS):
        return
    try:
        current_app.send_task(DELIVER_TASK, retry=False, ignore_result=True)
    except Exception as exc:  # broker down: the rows wait for the sweep
        cache.set(NUDGE_KEY, 1, timeout=settings.ERP_NUDGE_TTL_SECONDS * 2)
        log.warning("could not nudge outbox delivery (%s); the beat sweep will deliver", exc)


@receiver([post_save, post_delete], sender=ErpEndpoint, dispatch_uid="integration.delivery.endpoint")
def _endpoint_changed(**kwargs) -> None:
    """An endpoint saved or deleted in this process: the next nudge asks for the configuration
    again, and again once the change commits (a nudge in between would not have seen it)."""
    _ask_again()
    transaction.on_commit(_ask_again)


def _ask_again() -> None:
    global _unconfigured_until
    _unconfigured_until = 0.0
