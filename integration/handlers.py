"""What integration does when production records something: every consequence in one place.

Registered in `IntegrationConfig.ready()` through `mes.hooks`:

- `write_outbox` runs inside the ledger event's transaction and writes the outbox row, so the
  message commits or rolls back with the event; after commit it nudges delivery.
"""

from __future__ import annotations

import logging

from django.db import transaction

from integration.delivery import nudge_delivery
from integration.messages import MESSAGE_TYPE_OF_EVENT, build_payload, message_key
from integration.models import OutboxMessage
from integration.services.outbox import outbox_enqueue
from mes.models import Line
from workorders.models import ProductionEvent, WorkOrder

log = logging.getLogger(__name__)


def write_outbox(event: ProductionEvent) -> OutboxMessage | None:
    """Write the outbox row for a ledger event the ERP cares about; inside the event's transaction."""
    message_type = MESSAGE_TYPE_OF_EVENT.get(event.kind)
    if message_type is None or event.work_order_id is None:
        return None
    work_order: WorkOrder = event.work_order
    plant = _site_code(work_order)
    message = outbox_enqueue(
        event=event,
        message_type=message_type,
        key=message_key(event, message_type),
        work_order=work_order,
        payload=lambda sequence: build_payload(
            event=event, work_order=work_order, message_type=message_type, sequence=sequence, plant=plant
        ),
    )
    log.info(
        "outbox message %s (%s) for event %s, key %s",
        message.pk,
        message_type,
        event.pk,
        message.idempotency_key,
        extra={"outbox_message": message.pk, "event": event.pk},
    )
    transaction.on_commit(nudge_delivery, robust=True)
    return message


def _site_code(work_order: WorkOrder) -> str:
    # The production services load the order with its line and site; other callers may not.
    if WorkOrder.line.is_cached(work_order) and Line.site.is_cached(work_order.line):
        return work_order.line.site.code
    return Line.objects.filter(pk=work_order.line_id).values_list("site__code", flat=True).get()
