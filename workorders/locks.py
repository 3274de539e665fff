"""Row locks of production, in one place.

Every production service locks the work order before its operation (and several orders in
primary-key order), so two services never wait on each other in opposite orders. On SQLite
`select_for_update` is a no-op and the IMMEDIATE transaction mode serialises writers instead.
"""

from __future__ import annotations

from workorders.models import WorkOrder, WorkOrderOperation


def lock_work_order(pk: int) -> WorkOrder:
    # `of=("self",)`: lock the order row only, not the joined product that every order of the
    # same part shares.
    return WorkOrder.objects.select_for_update(of=("self",)).select_related("product").get(pk=pk)


def lock_work_orders(pks: list[int]) -> list[WorkOrder]:
    return list(WorkOrder.objects.select_for_update().filter(pk__in=pks).order_by("pk"))


def lock_operation(pk: int) -> tuple[WorkOrder, WorkOrderOperation]:
    """Lock an operation and its order, order first."""
    work_order_id = WorkOrderOperation.objects.values_list("work_order_id", flat=True).get(pk=pk)
    work_order = lock_work_order(work_order_id)
    operation = (
        WorkOrderOperation.objects.select_for_update(of=("self",))
        .select_related("workstation__line")
        .get(pk=pk)
    )
    return work_order, operation
