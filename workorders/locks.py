"""Row locks of production, in one place.

Every production service locks the work order before its operation (and several orders in
primary-key order), so two services never wait on each other in opposite orders. On SQLite
`select_for_update` is a no-op and the IMMEDIATE transaction mode serialises writers instead.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from mes.compiled import Compiled
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
    """Lock an operation and its order in one statement, the order's row first.

    `FOR UPDATE OF` names the order before the operation, and PostgreSQL takes a statement's row
    locks in the order of that list, so the rule above holds as if they were locked one after
    the other (the rebuild, for one, locks orders and then updates their operations). Both rows
    are read as they stand once locked. The order comes with its product, line and site, the
    operation with `is_last`: every count needs them. The operation's workstation is not joined;
    the services hand it the one they were given once it is checked to be the same.

    Every tap runs it, so it is compiled once (`mes.compiled`): building and compiling the
    queryset cost more than the statement."""
    found = _OPERATION_FOR_UPDATE.all(pk=int(pk))
    if not found:
        raise WorkOrderOperation.DoesNotExist("WorkOrderOperation matching query does not exist.")
    operation = found[0]
    return operation.work_order, operation


def _operation_for_update(pk: int):
    later = WorkOrderOperation.objects.filter(
        work_order_id=OuterRef("work_order_id"), sequence__gt=OuterRef("sequence")
    )
    return (
        WorkOrderOperation.objects.select_for_update(of=("work_order", "self"))
        .select_related("work_order__product", "work_order__line__site")
        .annotate(is_last=~Exists(later))
        .filter(pk=pk)
        .order_by()  # one row: as get() would, without the model's ordering
    )


_OPERATION_FOR_UPDATE = Compiled(_operation_for_update, "pk")
