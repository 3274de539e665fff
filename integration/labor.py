"""Labor to the ERP: a labor confirmation when an operation's labor closes.

What an ERP books as labor is a confirmation of an order's operation: the time each person (by
personnel number, our badge) spent on it at its work center, dated so it can be costed and posted
to the day (SAP's operation confirmation with personnel numbers, Oracle's and Dynamics' labor
transactions all take that shape). So one message is sent per operation when its labor is
final, not per shift: a shift-end message would need a clock instead of an event, and would
confirm an operation in pieces the ERP then has to add up, each piece still open to change.

An operation's labor closes with the ledger event that ends its last run:

- the good count that brings it to the order quantity (`EventKind.GOOD`);
- the order leaving production for good (completed short, cancelled) for every operation that
  ran and had not reached its quantity.

The message is written inside that event's transaction (a registered event handler, after the
outbox row of the event itself), so it exists iff the event committed; its idempotency key is
derived from the event's key, so a retry is the same message and the ERP books it once. Its
lines are per operation, person and shift occurrence (the posting date), in seconds and decimal
hours, from `workorders.selectors.labor`; running time nobody attended is sent apart as
machine time, never as a person's labor. Sent only where the ERP takes labor confirmations
(the setting `ERP_LABOR`): it is one more message than the events it reports, so it is off for
an ERP that doesn't.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum

from integration.delivery import nudge_delivery
from integration.messages import message_key
from integration.models import OutboxMessage
from integration.services.outbox import outbox_enqueue
from integration.states import MessageType
from mes.models import Line
from workorders.models import ProductionEvent, WorkOrder, WorkOrderOperation
from workorders.selectors.labor import LaborRow, labor_rows
from workorders.states import EventKind, WorkOrderStatus

log = logging.getLogger(__name__)
# An order in one of these is out of production for good: what ran of its operations is final.
ENDS_PRODUCTION = {WorkOrderStatus.COMPLETED, WorkOrderStatus.CANCELLED}
HOUR = Decimal(3600)


def _good_before_and_after(event: ProductionEvent) -> tuple[Decimal, Decimal]:
    total = (
        ProductionEvent.objects.filter(operation_id=event.operation_id, kind=EventKind.GOOD)
        .exclude(pk=event.pk)
        .aggregate(total=Sum("quantity"))["total"]
    ) or Decimal(0)
    return total, total + (event.quantity or 0)


def operations_closed_by(event: ProductionEvent) -> list[WorkOrderOperation]:
    """The operations whose labor `event` closes (see the module), loaded as labor needs them."""
    operations = WorkOrderOperation.objects.select_related("work_order", "workstation__line__site")
    if event.kind == EventKind.GOOD and event.operation_id is not None:
        before, after = _good_before_and_after(event)
        quantity = event.work_order.quantity
        return list(operations.filter(pk=event.operation_id)) if before < quantity <= after else []
    if event.kind == EventKind.ORDER_STATUS and event.data.get("to") in ENDS_PRODUCTION:
        quantity = event.work_order.quantity
        ran = operations.filter(work_order_id=event.work_order_id, started_at__isnull=False)
        good = ran.annotate(good=Sum("events__quantity", filter=Q(events__kind=EventKind.GOOD))).values_list(
            "pk", "good"
        )
        open_ids = [pk for pk, total in good if (total or 0) < quantity]
        return list(operations.filter(pk__in=open_ids).order_by("sequence"))
    return []


def _hours(seconds: float) -> str:
    return f"{(Decimal(round(seconds)) / HOUR).quantize(Decimal('0.0001')).normalize():f}"


def _line(row: LaborRow) -> dict:
    return {
        "operation": {"sequence": row.sequence, "name": row.operation, "workstation": row.workstation},
        "person": row.person,
        "personnel_number": row.badge,
        "shift": row.shift,
        "shift_start": row.shift_start.isoformat() if row.shift_start else None,
        "seconds": round(row.seconds),
        "hours": _hours(row.seconds),
    }


def build_labor_payload(
    *, event: ProductionEvent, work_order: WorkOrder, operations: list[WorkOrderOperation], sequence: int,
    plant: str,
) -> dict:  # fmt: skip
    """The labor confirmation of `operations`, closed by `event`, in the ERP's terms."""
    rows = [r for r in labor_rows(operations, now=event.occurred_at) if round(r.seconds) > 0]
    machine: dict[int, float] = {}
    for row in rows:
        if row.user_id is None:
            machine[row.sequence] = machine.get(row.sequence, 0) + row.seconds
    return {
        "message_type": MessageType.LABOR,
        "idempotency_key": str(message_key(event, MessageType.LABOR)),
        "sequence": sequence,
        "plant": plant,
        "order_number": work_order.number,
        "material": work_order.product.part_number,
        "unit": "h",
        "occurred_at": event.occurred_at.isoformat(),
        "event_id": event.pk,
        "operations": [
            {
                "sequence": op.sequence,
                "name": op.name,
                "workstation": op.workstation.code,
                "final": True,
                "machine_seconds": round(machine.get(op.sequence, 0)),
            }
            for op in operations
        ],
        "lines": [_line(r) for r in rows if r.user_id is not None],
        "quantity": _hours(sum(r.seconds for r in rows if r.user_id is not None)),
    }


def write_labor_outbox(event: ProductionEvent) -> OutboxMessage | None:
    """Write the labor confirmation closed by a ledger event, in the event's transaction."""
    if not getattr(settings, "ERP_LABOR", False) or event.work_order_id is None:
        return None
    if event.kind not in (EventKind.GOOD, EventKind.ORDER_STATUS):
        return None
    operations = operations_closed_by(event)
    if not operations:
        return None
    work_order = event.work_order
    plant = Line.objects.filter(pk=work_order.line_id).values_list("site__code", flat=True).get()
    message = outbox_enqueue(
        event=event,
        message_type=MessageType.LABOR,
        key=message_key(event, MessageType.LABOR),
        work_order=work_order,
        payload=lambda sequence: build_labor_payload(
            event=event, work_order=work_order, operations=operations, sequence=sequence, plant=plant
        ),
    )
    log.info(
        "outbox message %s (labor of %s operations) for event %s, key %s",
        message.pk,
        len(operations),
        event.pk,
        message.idempotency_key,
        extra={"outbox_message": message.pk, "event": event.pk},
    )
    transaction.on_commit(nudge_delivery, robust=True)
    return message
