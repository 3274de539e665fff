"""Reads of the floor: a workstation's queue, its open downtime, the supervisor's board."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Case, IntegerField, QuerySet, Value, When

from mes.models import Workstation
from mes.selectors import sites_visible_to
from workorders.models import Downtime, ReasonCode, WorkOrder, WorkOrderOperation
from workorders.states import OPEN, WORKABLE, OperationStatus


def workstation_queue(workstation: Workstation) -> QuerySet[WorkOrderOperation]:
    """Operations waiting or running at this workstation, in the order they should be worked:
    running and paused first, then by order priority and due date."""
    return (
        WorkOrderOperation.objects.filter(workstation=workstation, work_order__status__in=WORKABLE)
        .exclude(status=OperationStatus.DONE)
        .select_related("work_order__product")
        .annotate(
            in_hand=Case(
                When(status__in=[OperationStatus.RUNNING, OperationStatus.PAUSED], then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("in_hand", "work_order__priority", "work_order__due", "work_order__number", "sequence")
    )


def operation_for_workstation(workstation: Workstation, operation_id: int) -> WorkOrderOperation | None:
    return (
        WorkOrderOperation.objects.filter(pk=operation_id, workstation=workstation)
        .select_related("work_order__product", "workstation__line")
        .first()
    )


def open_downtime(workstation: Workstation) -> Downtime | None:
    return (
        Downtime.objects.filter(workstation=workstation, ended_at__isnull=True)
        .select_related("reason")
        .first()
    )


def reasons_of(kind: str) -> QuerySet[ReasonCode]:
    return ReasonCode.objects.filter(kind=kind, active=True).order_by("name")


def board_orders(
    user, *, line_id: int | None = None, statuses: list[str] | None = None, due_before: datetime | None = None
) -> QuerySet[WorkOrder]:
    """Orders on the supervisor's board, on the sites the user sees; open ones unless asked otherwise."""
    orders = WorkOrder.objects.filter(line__site__in=sites_visible_to(user), status__in=statuses or OPEN)
    if line_id:
        orders = orders.filter(line_id=line_id)
    if due_before:
        orders = orders.filter(due__lt=due_before)
    return orders.select_related("product", "line").order_by("line__code", "priority", "due", "number")
