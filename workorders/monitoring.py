"""Every committed ledger event, counted for /metrics and logged with the request that made it.

Registered as a production event handler (`WorkordersConfig.ready`): it runs in the event's
transaction and defers both to the commit, so a tap that rolls back is neither counted nor
logged. The log line carries the request id (`mes.log_context`), which the event's outbox
message and its delivery attempts log too.
"""

from __future__ import annotations

import logging

from django.db import transaction

from mes import metrics
from workorders.models import ProductionEvent
from workorders.states import kind_word

log = logging.getLogger("workorders.ledger")


def observe_production_event(event: ProductionEvent) -> None:
    transaction.on_commit(lambda: _committed(event))


def _committed(event: ProductionEvent) -> None:
    metrics.PRODUCTION_EVENTS.labels(kind=kind_word(event.kind)).inc()
    log.info(
        "production event %s: %s at workstation %s, key %s",
        event.pk,
        event.kind,
        event.workstation_id,
        event.idempotency_key,
        extra={"event": event.pk, "kind": event.kind},
    )
