"""The guards quality registers on production (see `QualityConfig.ready`):

- **checklist interlock**: an operation whose required checklist is not done cannot start,
  count its last units, or go past the next N units, with a message naming the checklist; and an
  order does not complete, by its last count or by hand (short), while an operation that counted
  good units lacks its at-completion checklist. That last refusal is the one a supervisor may
  go past with a signed override (`overridable`): the order's record then shows it;
- **no work on a held order**: nothing is recorded against an order with an active hold, and
  the order does not leave its hold on the board, complete or close while a quality hold is
  active;
- **no consumption of a held lot**: a lot (or serial) under an active hold is not consumed;
- **qualified at start**: at a workstation that has qualification records, only a person with a
  valid (unrevoked, unexpired) one starts an operation; a workstation nobody was ever qualified
  on is open to all, so a plant turns the rule on by granting the first qualification;
- **SOPs read at start**: a person who acknowledges SOPs starts an operation only once they have
  acknowledged the effective version of each SOP attached to its routing step (a machine account
  reads nothing and is not asked).

Guards run inside the production service's transaction, after it has locked the operation. A
start and a count ask both of the first two (`interlock_at_start`, `interlock_before_units`) in
one query, and read an operation's checklist requirements only when its step has any attached.
The start's two other guards ask one small query each; the counts never ask them.

A refusal rolls the start's transaction back, so it cannot be stored beside it: the two Start
guards of training refuse with a `StartRefused`, and `record_refused_start`, a refusal handler
production calls once that transaction has rolled back, keeps it as a `StartRefusal` row (see
`quality.services.refusals`). A refusal for want of a qualification is also logged
(`quality.qualifications`, a warning with the person and the workstation in the log context).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, Exists, Max, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.compiled import Compiled
from mes.errors import Conflict
from mes.hooks import register_guard, register_refusal_handler
from quality import selectors
from quality.models import (
    ChecklistRun,
    Hold,
    OperationChecklist,
    Qualification,
    SopAcknowledgement,
    SopVersion,
)
from quality.services.refusals import start_refusal_record
from quality.states import HoldStatus, HoldTarget, RunStatus, Trigger, VersionStatus
from workorders.models import WorkOrderOperation

log = logging.getLogger("quality.qualifications")


def _missing(message: str):
    raise Conflict(message, field="checklist", code="checklist_missing")


def _active_hold_reason(**match) -> str | None:
    """The reason of the latest active hold matching `match`, or None.

    Asked on every production tap, inside its locked transaction, so the query is kept small:
    one column and one row, no model instance to build."""
    reasons = Hold.objects.filter(status=HoldStatus.ACTIVE, **match).values_list("reason", flat=True)
    return next(iter(reasons[:1]), None)


def _order_hold_and_checklists(operation) -> tuple[str | None, bool]:
    """What a start or a count asks quality, in one round trip: the reason of the order's latest
    active hold (None without one) and whether the operation's routing step has checklists."""
    row = _HOLD_AND_CHECKLISTS.all(pk=operation.pk)[0]
    return row["hold"], row["checklists"]


def _hold_and_checklists_of(pk: int):
    holds = Hold.objects.filter(work_order_id=OuterRef("work_order_id"), status=HoldStatus.ACTIVE)
    attached = OperationChecklist.objects.filter(routing_operation_id=OuterRef("routing_operation_id"))
    return (
        WorkOrderOperation.objects.filter(pk=pk)
        .annotate(hold=Subquery(holds.values("reason")[:1]), checklists=Exists(attached))
        .order_by()  # one row: not the model's ordering, which would join the order
        .values("hold", "checklists")
    )


_HOLD_AND_CHECKLISTS = Compiled(_hold_and_checklists_of, "pk")


def _refuse_held_order(work_order, reason: str):
    raise Conflict(
        _("Order %(order)s is on quality hold (%(reason)s): nothing can be recorded against it.")
        % {"order": work_order.number, "reason": reason},
        field="work_order",
        code="order_held",
    )


def no_work_on_held_order(*, work_order, **context) -> None:
    reason = _active_hold_reason(work_order_id=work_order.pk)
    if reason is not None:
        _refuse_held_order(work_order, reason)


def no_consume_of_held_lot(*, lot, **context) -> None:
    reason = _active_hold_reason(target=HoldTarget.LOT, lot_code=lot.code)
    if reason is not None:
        raise Conflict(
            _("Lot %(lot)s is on quality hold (%(reason)s): it cannot be consumed.")
            % {"lot": lot.code, "reason": reason},
            field="lot",
            code="lot_held",
        )


def no_release_while_held(*, work_order, **context) -> None:
    """An order under an active quality hold leaves its hold only when quality releases the hold."""
    reason = _active_hold_reason(work_order_id=work_order.pk)
    if reason is not None:
        raise Conflict(
            _("Order %(order)s has an active quality hold (%(reason)s); quality releases it.")
            % {"order": work_order.number, "reason": reason},
            field="status",
            code="quality_hold_active",
        )


def checklist_before_start(*, work_order, operation, **context) -> None:
    for need in selectors.requirements_for(operation):
        if need.trigger in (Trigger.AT_START, Trigger.ONCE_PER_SHIFT) and not need.done:
            _missing(
                _("Checklist %(checklist)s is not done: fill it before starting the operation.")
                % {"checklist": need.name}
            )


def checklist_before_units(*, work_order, operation, quantity: Decimal = Decimal("0"), **context) -> None:
    after = operation.quantity_good + (quantity or 0)
    for need in selectors.requirements_for(operation, units_after=after):
        if need.trigger == Trigger.AT_COMPLETION and after >= work_order.quantity and not need.done:
            _missing(
                _("Checklist %(checklist)s is not done: fill it before completing the operation.")
                % {"checklist": need.name}
            )
        elif need.trigger == Trigger.EVERY_N_UNITS and not need.done:
            _missing(
                _("Checklist %(checklist)s is not done: fill it every %(units)s units before counting more.")
                % {"checklist": need.name, "units": need.every_n_units}
            )
        elif need.trigger == Trigger.ONCE_PER_SHIFT and not need.done:
            _missing(
                _("Checklist %(checklist)s is not done: fill it once this shift before counting.")
                % {"checklist": need.name}
            )


def interlock_at_start(*, work_order, operation, **context) -> None:
    """No start on a held order, nor before the checklists due at start are done."""
    reason, checklists = _order_hold_and_checklists(operation)
    if reason is not None:
        _refuse_held_order(work_order, reason)
    if checklists:
        checklist_before_start(work_order=work_order, operation=operation)


def interlock_before_units(*, work_order, operation, quantity: Decimal = Decimal("0"), **context) -> None:
    """No count on a held order, nor past a checklist that is due."""
    reason, checklists = _order_hold_and_checklists(operation)
    if reason is not None:
        _refuse_held_order(work_order, reason)
    if checklists:
        checklist_before_units(work_order=work_order, operation=operation, quantity=quantity)


def completion_checklists_done(*, work_order, **context) -> None:
    """No order completes while an operation that counted good units lacks a completed run of
    each checklist due at its completion. The count's interlock asks this of the operation whose
    last units it counts; an order completed short by hand reaches no operation's last unit, so
    this asks it of every operation, in two queries, once per order."""
    due = list(
        WorkOrderOperation.objects.filter(
            work_order_id=work_order.pk,
            quantity_good__gt=0,
            routing_operation__checklists__trigger=Trigger.AT_COMPLETION,
        )
        .order_by("sequence", "routing_operation__checklists__template__code")
        .values_list(
            "pk",
            "sequence",
            "name",
            "routing_operation__checklists__template_id",
            "routing_operation__checklists__template__code",
            "routing_operation__checklists__template__title",
        )
    )
    if not due:
        return
    done = set(
        ChecklistRun.objects.filter(
            operation_id__in={row[0] for row in due},
            trigger=Trigger.AT_COMPLETION,
            status=RunStatus.COMPLETED,
        ).values_list("operation_id", "template_id")
    )
    missing = [row for row in due if (row[0], row[3]) not in done]
    if missing:
        names = "; ".join(
            _("%(checklist)s at operation %(sequence)s %(operation)s")
            % {"checklist": f"{code} {title}", "sequence": seq, "operation": name}
            for _op, seq, name, _template, code, title in missing
        )
        raise Conflict(
            _("Checklist not done: %(checklists)s. Fill it before completing the order.")
            % {"checklists": names},
            field="checklist",
            code="checklist_missing",
        )


class StartRefused(Conflict):
    """A start refused by one of training's guards (the field says which): kept as a row."""


class SopNotRead(StartRefused):
    """A start refused until an SOP is read: the answer also carries the tablet page to read it."""

    def __init__(self, message: str, *, url: str):
        super().__init__(message, field="sop", code="sop_not_acknowledged")
        self.url = url

    def as_dict(self) -> dict:
        return {**super().as_dict(), "url": self.url}


def qualified_at_start(*, work_order, operation, user, **context) -> None:
    """Only a person qualified on the workstation starts there, once it has qualifications."""
    mine = Q(user_id=user.pk, revoked_at__isnull=True)
    found = Qualification.objects.filter(workstation_id=operation.workstation_id).aggregate(
        records=Count("pk"), until=Max("valid_until", filter=mine)
    )
    if not found["records"]:
        return
    today = timezone.now().astimezone(work_order.line.site.tzinfo).date()
    if found["until"] is not None and found["until"] >= today:
        return
    station = operation.workstation.code
    if found["until"] is None:
        message = _("You are not qualified on %(workstation)s — ask your supervisor.") % {
            "workstation": station
        }
    else:
        message = _("Your qualification on %(workstation)s ran out on %(date)s — ask your supervisor.") % {
            "workstation": station,
            "date": f"{found['until']:%Y-%m-%d}",
        }
    log.warning(
        "Start refused: %s is not qualified on %s (operation %s, order %s).",
        user.username,
        station,
        operation.pk,
        work_order.number,
        extra={
            "refused": "not_qualified",
            "operation": operation.pk,
            "workstation_id": operation.workstation_id,
        },
    )
    raise StartRefused(message, field="qualification", code="not_qualified")


def sops_read_at_start(*, work_order, operation, user, **context) -> None:
    """The effective version of every SOP attached to the step is acknowledged by the person."""
    if not operation.routing_operation_id or not user.has_perm("quality.acknowledge_sop"):
        return
    read = SopAcknowledgement.objects.filter(version_id=OuterRef("pk"), user_id=user.pk)
    unread = (
        SopVersion.objects.filter(
            status=VersionStatus.EFFECTIVE,
            document__operations__routing_operation_id=operation.routing_operation_id,
        )
        .filter(~Exists(read))
        .order_by("document__code")
        .values_list("pk", "document__code", "document__title")[:1]
    )
    first = next(iter(unread), None)
    if first is None:
        return
    pk, code, title = first
    back = reverse("workstation_operation", args=[operation.pk])
    raise SopNotRead(
        _("Read SOP %(sop)s (%(title)s) and acknowledge it before starting.") % {"sop": code, "title": title},
        url=f"{reverse('quality_sop', args=[pk])}?{urlencode({'next': back})}",
    )


def record_refused_start(error: Exception, *, user, workstation, operation_id: int, key, **context) -> None:
    """Keep a Start refused by a training guard, after the start's transaction rolled back."""
    if isinstance(error, StartRefused):
        start_refusal_record(
            user=user,
            workstation=workstation,
            operation_id=operation_id,
            key=key,
            guard=error.field,
            code=error.code,
            message=error.message,
        )


def register() -> None:
    register_guard("operation_start", interlock_at_start)
    register_guard("operation_start", qualified_at_start)
    register_guard("operation_start", sops_read_at_start)
    register_refusal_handler("operation_start", record_refused_start)
    register_guard("operation_record_good", interlock_before_units)
    for action in ("operation_record_scrap", "operation_consume"):
        register_guard(action, no_work_on_held_order)
    register_guard("operation_consume", no_consume_of_held_lot)
    register_guard("workorder_release_hold", no_release_while_held)
    # Every way an order completes (its last count, the board, the API) asks the same two rules.
    register_guard("workorder_complete", no_work_on_held_order)
    register_guard("workorder_complete", completion_checklists_done, overridable=True)
    register_guard("workorder_close", no_release_while_held)
