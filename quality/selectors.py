"""Reads of quality: what an operation requires and whether it is done, forms due and the quality
overview. SPC (charts, rules, capability) lives in `quality.spc`; its names are kept here too."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.utils import timezone

from mes.models import Workstation
from mes.selectors import current_shift, sites_visible_to
from quality.models import (
    ChecklistItem,
    ChecklistResponse,
    ChecklistRun,
    ChecklistTemplateVersion,
    FormAssignment,
    Hold,
    Nonconformance,
    OperationChecklist,
    OperationSop,
    SopAcknowledgement,
    SopVersion,
)
from quality.spc import (  # noqa: F401  (SPC's reads, where callers have always found them)
    D2,
    D4,
    SpcChart,
    SpcPoint,
    spc_chart,
    spc_series,
    western_electric,
)
from quality.states import (
    OPEN_NONCONFORMANCE,
    HoldStatus,
    RunStatus,
    Schedule,
    Trigger,
    VersionStatus,
)

# --- what an operation requires --------------------------------------------------------------


@dataclass
class Requirement:
    attachment: OperationChecklist
    trigger: str
    name: str
    every_n_units: int | None
    done: bool
    open_run_id: int | None = None

    @property
    def template(self):
        return self.attachment.template


def shift_start(workstation: Workstation, at: datetime) -> datetime:
    """The start of the shift running at `at`, or local midnight when no shift runs."""
    site = workstation.line.site
    window = current_shift(site, at)
    if window is not None:
        return window.start
    local = timezone.localtime(at, site.tzinfo)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def requirements_for(
    operation, *, units_after: Decimal | None = None, at: datetime | None = None
) -> list[Requirement]:
    """The checklists the operation's routing step requires, each with whether it is done now.

    at start / at completion: a completed run for this operation and moment;
    every N units: as many completed runs as full N-blocks before `units_after` (the good count
    after the units being counted): the check after unit N is due before unit N+1;
    once per shift: a completed run at this workstation since the current shift began.
    """
    if not operation.routing_operation_id:
        return []
    attachments = list(
        OperationChecklist.objects.filter(routing_operation_id=operation.routing_operation_id).select_related(
            "template"
        )
    )
    if not attachments:
        return []
    at = at or timezone.now()
    units_after = operation.quantity_good if units_after is None else units_after
    runs = list(
        ChecklistRun.objects.filter(
            Q(operation=operation)
            | Q(workstation_id=operation.workstation_id, trigger=Trigger.ONCE_PER_SHIFT),
            template_id__in=[a.template_id for a in attachments],
        ).values("id", "template_id", "trigger", "status", "completed_at", "operation_id")
    )
    since_shift = None
    found = []
    for a in attachments:
        mine = [r for r in runs if r["template_id"] == a.template_id and r["trigger"] == a.trigger]
        completed = [r for r in mine if r["status"] == RunStatus.COMPLETED]
        open_run = next(
            (
                r["id"]
                for r in mine
                if r["status"] == RunStatus.IN_PROGRESS and r["operation_id"] == operation.pk
            ),
            None,
        )
        if a.trigger in (Trigger.AT_START, Trigger.AT_COMPLETION):
            done = any(r["operation_id"] == operation.pk for r in completed)
        elif a.trigger == Trigger.EVERY_N_UNITS:
            needed = max(0, math.ceil(Decimal(units_after) / a.every_n_units) - 1) if a.every_n_units else 0
            done = sum(1 for r in completed if r["operation_id"] == operation.pk) >= needed
        else:
            if since_shift is None:
                since_shift = shift_start(operation.workstation, at)
            done = any(r["completed_at"] and r["completed_at"] >= since_shift for r in completed)
        found.append(
            Requirement(
                attachment=a,
                trigger=a.trigger,
                name=f"{a.template.code} {a.template.title}",
                every_n_units=a.every_n_units,
                done=done,
                open_run_id=open_run,
            )
        )
    return found


def sops_for(operation, user=None) -> list[dict]:
    """The effective SOP versions of the operation's routing step, and whether `user` read them."""
    if not operation.routing_operation_id:
        return []
    links = OperationSop.objects.filter(routing_operation_id=operation.routing_operation_id).values_list(
        "document_id", flat=True
    )
    versions = list(
        SopVersion.objects.filter(document_id__in=list(links), status=VersionStatus.EFFECTIVE).select_related(
            "document"
        )
    )
    read = set()
    if user is not None:
        read = set(
            SopAcknowledgement.objects.filter(user=user, version__in=versions).values_list(
                "version_id", flat=True
            )
        )
    return [{"version": v, "acknowledged": v.pk in read} for v in versions]


def run_with_items(run_id: int) -> ChecklistRun | None:
    return (
        ChecklistRun.objects.filter(pk=run_id)
        .select_related("version", "template", "workstation", "work_order", "operation")
        .prefetch_related(
            Prefetch("version__items", queryset=ChecklistItem.objects.order_by("position", "pk")),
            Prefetch(
                "responses",
                queryset=ChecklistResponse.objects.select_related(
                    "item", "recorded_by", "supersedes"
                ).order_by("item__position", "pk"),
            ),
        )
        .first()
    )


def effective_versions(site_ids) -> QuerySet[ChecklistTemplateVersion]:
    return ChecklistTemplateVersion.objects.filter(
        status=VersionStatus.EFFECTIVE, template__site_id__in=site_ids
    )


# --- forms due -------------------------------------------------------------------------------


@dataclass
class FormDue:
    assignment: FormAssignment
    due_since: datetime | None
    overdue: bool
    last_completed: datetime | None


def period_start(assignment: FormAssignment, workstation: Workstation, at: datetime) -> datetime | None:
    tz = workstation.line.site.tzinfo
    local = timezone.localtime(at, tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if assignment.schedule == Schedule.START_OF_SHIFT:
        return shift_start(workstation, at)
    if assignment.schedule == Schedule.DAILY:
        return midnight
    if assignment.schedule == Schedule.WEEKLY:
        days_back = (local.isoweekday() - (assignment.weekday or 1)) % 7
        return midnight - timedelta(days=days_back)
    return None  # on demand


def forms_for(
    workstation: Workstation, at: datetime | None = None, overdue_after=timedelta(hours=1)
) -> list[FormDue]:
    """The forms assigned to this workstation (or its line), due ones first; a form is due when no
    run was completed since its period began, overdue an hour after that."""
    at = at or timezone.now()
    assignments = list(
        FormAssignment.objects.filter(
            Q(workstation=workstation) | Q(line_id=workstation.line_id), active=True
        ).select_related("template")
    )
    last = {
        row["assignment_id"]: row["last"]
        for row in ChecklistRun.objects.filter(
            assignment__in=assignments, workstation=workstation, status=RunStatus.COMPLETED
        )
        .values("assignment_id")
        .annotate(last=Max("completed_at"))
    }
    found = []
    for a in assignments:
        start = period_start(a, workstation, at)
        done_at = last.get(a.pk)
        due = start is not None and (done_at is None or done_at < start)
        found.append(
            FormDue(
                assignment=a,
                due_since=start if due else None,
                overdue=due and at - start > overdue_after,
                last_completed=done_at,
            )
        )
    found.sort(key=lambda f: (f.due_since is None, not f.overdue, f.assignment.template.code))
    return found


def forms_due_for_user(user, at: datetime | None = None) -> list[tuple[Workstation, FormDue]]:
    """Due and overdue forms over every workstation the user sees (the supervisor's summary)."""
    at = at or timezone.now()
    stations = (
        Workstation.objects.filter(
            Q(form_assignments__active=True) | Q(line__form_assignments__active=True),
            line__site__in=sites_visible_to(user),
        )
        .distinct()
        .select_related("line__site")
    )
    return [(ws, f) for ws in stations for f in forms_for(ws, at) if f.due_since is not None]


# --- overview --------------------------------------------------------------------------------


def open_nonconformances(user) -> QuerySet[Nonconformance]:
    return (
        Nonconformance.objects.filter(site__in=sites_visible_to(user), status__in=OPEN_NONCONFORMANCE)
        .select_related("work_order", "operation", "workstation", "item", "operator", "response")
        .order_by("-opened_at", "-pk")
    )


def active_holds(user) -> QuerySet[Hold]:
    return (
        Hold.objects.filter(site__in=sites_visible_to(user), status=HoldStatus.ACTIVE)
        .select_related("work_order", "placed_by", "nonconformance")
        .order_by("-placed_at")
    )


def quality_summary(user) -> dict:
    """Counts for the supervisor's board: open nonconformances by status, active holds."""
    counts = open_nonconformances(user).order_by().values("status").annotate(n=Count("id"))
    by_status = {row["status"]: row["n"] for row in counts}
    return {
        "open_nonconformances": sum(by_status.values()),
        "by_status": by_status,
        "active_holds": active_holds(user).count(),
    }
