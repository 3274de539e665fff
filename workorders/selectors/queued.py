"""Operations queued per workstation, counted in one query (the Tablets page, via mes.workload)."""

from __future__ import annotations

from django.db.models import Count

from workorders.models import WorkOrderOperation
from workorders.states import WORKABLE, OperationStatus


def queued_per_workstation(workstation_ids: list[int]) -> dict[int, int]:
    """{workstation id: operations waiting or running there}, the same rows as its queue."""
    rows = (
        WorkOrderOperation.objects.filter(workstation_id__in=workstation_ids, work_order__status__in=WORKABLE)
        .exclude(status=OperationStatus.DONE)
        .values_list("workstation_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(rows)
