"""Celery tasks of the integration: thin nudges to the outbox services.

Only the outbox row is the truth; a task is a nudge (`integration.delivery` sends it by name). A
lost nudge costs a delay until the beat sweep, never a message. Tasks run with late acks and reject-on-worker-lost (settings), and are
idempotent: a redelivered task claims whatever is due, and claimed rows carry their own lease.
"""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache

from integration import services
from integration.delivery import DELIVER_TASK, NUDGE_KEY


@shared_task(name=DELIVER_TASK, ignore_result=True)
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
