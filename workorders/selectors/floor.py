"""Reads of the floor: a workstation's queue, its open downtime, the supervisor's board."""

from __future__ import annotations

import copy
from datetime import datetime

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils.translation import gettext as _

from mes.auth import access_version
from mes.content import in_language, text_in_language
from mes.errors import ValidationFailed
from mes.models import Workstation
from mes.selectors import sees_every_site, sites_visible_to
from workorders.models import Downtime, ReasonCode, WorkOrder, WorkOrderOperation
from workorders.states import OPEN, WORKABLE, OperationStatus

# Workstations a person was found to reach, by (person, plant-wide, workstation), with the access
# version each was decided under. Per process: it spares every production request the query that
# decides it, and the version (read with the person's permissions anyway) retires an entry the
# moment a role, a site given or taken, or a workstation or line moved could change the answer.
_reached: dict[tuple[int, bool, int], tuple[str, Workstation]] = {}
_REACHED_MOST = 20_000  # a net: far more than the people times workstations of a plant


def workstation_visible_to(user, pk) -> Workstation | None:
    """The workstation `pk` (with its line) if it is on a site `user` sees, else None.

    Each call gets its own instance: a service may attach things to it."""
    version = access_version(user)
    key = (user.pk, sees_every_site(user), pk)
    kept = _reached.get(key) if version is not None else None
    if kept is not None and kept[0] == version:
        return _own_copy(kept[1])
    # By id: the default ordering (site and line codes) would join the site for one row.
    workstation = (
        Workstation.objects.filter(pk=pk, line__site__in=sites_visible_to(user))
        .select_related("line")
        .order_by("pk")
        .first()
    )
    if workstation is not None and version is not None:
        if len(_reached) >= _REACHED_MOST:
            _reached.clear()
        _reached[key] = (version, _own_copy(workstation))
    return workstation


def require_visible_workstation(user, pk) -> Workstation:
    """The workstation a production request names, if it is on a site `user` sees; else refused at
    the request's `workstation` field."""
    workstation = workstation_visible_to(user, pk)
    if workstation is None:
        raise ValidationFailed(_("No such workstation."), field="workstation", code="unknown_workstation")
    return workstation


def _own_copy(workstation: Workstation) -> Workstation:
    mine = copy.copy(workstation)  # Django copies the instance's state and its cache of relations
    mine.line = copy.copy(workstation.line)
    return mine


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


def reasons_of(kind: str) -> list[ReasonCode]:
    """The active reasons of a kind, in the order of their names as the reader reads them."""
    reasons = ReasonCode.objects.filter(kind=kind, active=True)
    return sorted(reasons, key=lambda reason: in_language(reason, "name").casefold())


def reason_names() -> dict[str, str]:
    """Every reason code's name in the reader's language, by code: for reads that carry codes
    (the live screens, the loss report, the order's record)."""
    rows = ReasonCode.objects.values_list("code", "name", "translations")
    return {code: text_in_language(name, translations, "name") for code, name, translations in rows}


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
