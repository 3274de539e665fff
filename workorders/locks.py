"""Row locks of production, in one place.

Every production service locks the work order before its operation (and several orders in
primary-key order), so two services never wait on each other in opposite orders. On SQLite
`select_for_update` is a no-op and the IMMEDIATE transaction mode serialises writers instead.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Subquery

from workorders.models import WorkOrder, WorkOrderOperation


def _orders_for_update():
    # `of=("self",)`: lock the order row only, not the joined product, line and site that every
    # order of the same part or line shares. They come along because every production event
    # needs them (units, the plant code of the ERP message, the site's shifts).
    return WorkOrder.objects.select_for_update(of=("self",)).select_related("product", "line__site")


def lock_work_order(pk: int) -> WorkOrder:
    return _orders_for_update().get(pk=pk)


def lock_work_orders(pks: list[int]) -> list[WorkOrder]:
    return list(WorkOrder.objects.select_for_update().filter(pk__in=pks).order_by("pk"))


def lock_operation(pk: int) -> tuple[WorkOrder, WorkOrderOperation]:
    """Lock an operation and its order, order first (the order found by a subquery, one round trip).

    The operation comes with `is_last` answered by the same query: every count asks it."""
    order_of_operation = WorkOrderOperation.objects.filter(pk=pk).values("work_order_id")
    try:
        # get(), not first(): no ORDER BY to build and run for the one row a key finds.
        work_order = _orders_for_update().get(pk=Subquery(order_of_operation))
    except WorkOrder.DoesNotExist:
        raise WorkOrderOperation.DoesNotExist(f"No operation {pk}") from None
    later = WorkOrderOperation.objects.filter(
        work_order_id=OuterRef("work_order_id"), sequence__gt=OuterRef("sequence")
    )
    operation = (
        WorkOrderOperation.objects.select_for_update(of=("self",))
        .select_related("workstation__line")
        .annotate(is_last=~Exists(later))
        .get(pk=pk)
    )
    operation.work_order = work_order
    return work_order, operation
