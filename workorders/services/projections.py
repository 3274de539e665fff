"""Rebuild the projections of the production ledger from the ledger alone.

Counters, statuses and downtime are kept live by the services; this recomputes them from the
events, so a damaged projection can be repaired and tests can prove live equals rebuilt.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext_noop

from workorders.live.projection import rebuild_line_status
from workorders.models import (
    Consumption,
    Downtime,
    GenealogyLink,
    Lot,
    ProductionEvent,
    WorkOrder,
    WorkOrderOperation,
)
from workorders.states import EventKind, LotKind, LotStatus, OperationStatus, WorkOrderStatus

ZERO = Decimal(0)
STAMPS = {
    WorkOrderStatus.RELEASED: "released_at",
    WorkOrderStatus.IN_PROGRESS: "started_at",
    WorkOrderStatus.COMPLETED: "completed_at",
}


def operation_projection(
    operation: WorkOrderOperation, events: list[ProductionEvent], order_quantity: Decimal
):
    good = sum((e.quantity for e in events if e.kind == EventKind.GOOD), ZERO)
    scrap = sum((e.quantity for e in events if e.kind == EventKind.SCRAP), ZERO)
    status = OperationStatus.PENDING
    started_at = None
    for event in events:  # in ledger order
        if event.kind == EventKind.START:
            status, started_at = OperationStatus.RUNNING, event.occurred_at
        elif event.kind == EventKind.PAUSE:
            status = OperationStatus.PAUSED
        elif event.kind == EventKind.RESUME:
            status = OperationStatus.RUNNING
        elif event.kind == EventKind.GOOD and good_so_far(events, event) >= order_quantity:
            status = OperationStatus.DONE
    return {
        "quantity_good": good,
        "quantity_scrap": scrap,
        "status": status,
        "started_at": started_at,
        "last_event_at": max((e.occurred_at for e in events), default=None),
    }


def good_so_far(events: list[ProductionEvent], upto: ProductionEvent) -> Decimal:
    return sum((e.quantity for e in events if e.kind == EventKind.GOOD and e.pk <= upto.pk), ZERO)


@transaction.atomic
def rebuild_projections(*, work_order_ids: list[int] | None = None) -> int:
    """Recompute operation and order projections (and downtime) from the ledger; returns orders rebuilt."""
    orders = WorkOrder.objects.select_for_update().order_by("pk")
    if work_order_ids is not None:
        orders = orders.filter(pk__in=work_order_ids)
    orders = list(orders)
    events_by_order: dict[int, list[ProductionEvent]] = defaultdict(list)
    for event in ProductionEvent.objects.filter(work_order__in=orders).order_by("pk"):
        events_by_order[event.work_order_id].append(event)
    for order in orders:
        events = events_by_order[order.pk]
        operations = list(order.operations.order_by("sequence"))
        for operation in operations:
            own = [e for e in events if e.operation_id == operation.pk]
            WorkOrderOperation.objects.filter(pk=operation.pk).update(
                **operation_projection(operation, own, order.quantity)
            )
        changes = order_projection(order, events, operations)
        WorkOrder.objects.filter(pk=order.pk).update(**changes)
    rebuild_lots(orders if work_order_ids is not None else None)
    if work_order_ids is None:
        rebuild_downtime()
        rebuild_line_status()
    return len(orders)


def order_projection(order: WorkOrder, events: list[ProductionEvent], operations: list[WorkOrderOperation]):
    last_op = operations[-1] if operations else None
    good = (
        sum(
            (e.quantity for e in events if e.kind == EventKind.GOOD and e.operation_id == last_op.pk),
            ZERO,
        )
        if last_op
        else ZERO
    )
    scrap = sum((e.quantity for e in events if e.kind == EventKind.SCRAP), ZERO)
    changes = {
        "quantity_good": good,
        "quantity_scrap": scrap,
        "status": WorkOrderStatus.DRAFT,
        "status_before_hold": "",
        "released_at": None,
        "started_at": None,
        "completed_at": None,
    }
    for event in events:
        if event.kind != EventKind.ORDER_STATUS:
            continue
        target = event.data["to"]
        changes["status"] = target
        if target == WorkOrderStatus.ON_HOLD:
            changes["status_before_hold"] = event.data["from"]
        stamp = STAMPS.get(target)
        if stamp and changes[stamp] is None:
            changes[stamp] = event.occurred_at
    return changes


def rebuild_downtime() -> None:
    """Rebuild downtime intervals from the downtime start and end events."""
    ends = {e.data.get("downtime"): e for e in ProductionEvent.objects.filter(kind=EventKind.DOWNTIME_END)}
    for downtime in Downtime.objects.select_related("start_event"):
        end = ends.get(downtime.pk)
        Downtime.objects.filter(pk=downtime.pk).update(
            ended_at=end.occurred_at if end else None,
            end_event=end,
            planned=downtime.start_event.data.get("planned", False),
            started_at=downtime.start_event.occurred_at,
        )


def rebuild_lots(orders: list[WorkOrder] | None = None) -> None:
    """Recompute lot counters from the ledger: a made lot's quantity from the completions naming
    it (`data.lot`, or one unit per code in `data.serials`), every lot's consumed quantity from
    the consume events naming it, and each consumption's share linked to serial units from the
    genealogy. A received lot keeps its received quantity. `orders`: only the lots those orders
    made or consumed (None: all)."""
    lots = Lot.objects.select_for_update(of=("self",)).order_by("pk")
    if orders is not None:
        lots = lots.filter(Q(work_order__in=orders) | Q(consumptions__work_order__in=orders)).distinct()
    lots = list(lots)
    codes = [lot.code for lot in lots]
    made: dict[str, Decimal] = defaultdict(Decimal)
    consumed: dict[str, Decimal] = defaultdict(Decimal)
    produced_by = {lot.work_order_id for lot in lots if lot.work_order_id}
    for event in ProductionEvent.objects.filter(kind=EventKind.GOOD, work_order__in=produced_by):
        if event.data.get("lot"):
            made[event.data["lot"]] += event.quantity
        for code in event.data.get("serials", []):
            made[code] += 1
    for event in ProductionEvent.objects.filter(kind=EventKind.CONSUME, data__lot__in=codes):
        consumed[event.data["lot"]] += event.quantity
    for lot in lots:
        quantity = lot.quantity if lot.work_order_id is None else made[lot.code]
        if lot.kind == LotKind.SERIAL and lot.work_order_id is not None:
            quantity = min(quantity, Decimal(1))
        Lot.objects.filter(pk=lot.pk).update(quantity=quantity, quantity_consumed=consumed[lot.code])
        if lot.status in (LotStatus.AVAILABLE, LotStatus.CONSUMED):
            status = (
                LotStatus.CONSUMED if quantity > 0 and consumed[lot.code] >= quantity else LotStatus.AVAILABLE
            )
            if status != lot.status:
                lot.status = status
                lot._change_reason = gettext_noop("Rebuilt from the ledger")
                lot.save(update_fields=["status"])
    consumptions = Consumption.objects.all()
    if orders is not None:
        consumptions = consumptions.filter(work_order__in=orders)
    consumptions = list(consumptions.values_list("pk", "event_id", "lot_id"))
    linked = {
        (row["event_id"], row["parent_id"]): row["total"]
        for row in GenealogyLink.objects.filter(event_id__in=[c[1] for c in consumptions])
        .values("event_id", "parent_id")
        .annotate(total=Sum("quantity"))
    }
    for pk, event_id, lot_id in consumptions:
        Consumption.objects.filter(pk=pk).update(quantity_allocated=linked.get((event_id, lot_id), ZERO))
