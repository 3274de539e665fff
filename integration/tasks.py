"""Celery tasks of the integration: thin nudges to the outbox services.

Only the outbox row is the truth; a task is a nudge. A lost nudge costs a delay until the beat
sweep, never a message. Tasks run with late acks and reject-on-worker-lost (settings), and are
idempotent: a redelivered task claims whatever is due, and claimed rows carry their own lease.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from integration import services

log = logging.getLogger("integration.tasks")
NUDGE_KEY = "integration:outbox-nudge"


@shared_task(name="integration.deliver_outbox", ignore_result=True)
def deliver_outbox() -> int:
    cache.delete(NUDGE_KEY)
    report = services.outbox_deliver_due(on_full_batch=_successor)
    return report.claimed


@shared_task(name="integration.sweep_outbox", ignore_result=True)
def sweep_outbox() -> int:
    services.outbox_reclaim_expired()
    report = services.outbox_deliver_due(on_full_batch=_successor)
    return report.claimed


def _successor() -> None:
    # A full batch means more is due: queue the next one now so another worker drains alongside.
    deliver_outbox.apply_async(retry=False)


def nudge() -> None:
    """After a commit that wrote outbox rows: deliver soon. Never raises; the sweep is the net."""
    from config.celery import app

    if app.conf.task_always_eager:
        from integration import embedded

        embedded.nudge()
        return
    # One queued nudge is enough: a burst of commits sends one task, not one each.
    if not cache.add(NUDGE_KEY, 1, timeout=settings.ERP_NUDGE_TTL_SECONDS):
        return
    try:
        deliver_outbox.apply_async(retry=False)
    except Exception as exc:  # broker down: the rows wait for the sweep
        cache.set(NUDGE_KEY, 1, timeout=settings.ERP_NUDGE_TTL_SECONDS * 2)
        log.warning("could not nudge outbox delivery (%s); the beat sweep will deliver", exc)
