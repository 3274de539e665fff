"""Production on the floor: start, pause, resume, good and scrap counts of an operation.

Each action appends one event to the ledger and updates the projections (operation and order
counters, statuses) in the same transaction, once per idempotency key. `load_operation` and
`touch_operation` are shared with the other taps at an operation (material consumed).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from mes import hooks
from mes.compiled import update_row
from mes.errors import Conflict, Forbidden, MesError, ValidationFailed
from mes.idempotency import amount
from mes.models import User, Workstation
from workorders.locks import lock_operation
from workorders.models import ProductionEvent, WorkOrder, WorkOrderOperation
from workorders.services import lots
from workorders.services.events import append_event, clean_occurred_at, clean_quantity, clean_reason
from workorders.services.idempotency import Recorded, derived_key, run_once
from workorders.services.orders import record_status_change
from workorders.states import WORKABLE, EventKind, OperationStatus, ReasonKind, WorkOrderStatus


def _check_at_workstation(operation: WorkOrderOperation, workstation: Workstation) -> None:
    if operation.workstation_id != workstation.pk:
        raise ValidationFailed(
            _("This operation runs at %(code)s, not at %(code2)s.")
            % {"code": operation.workstation.code, "code2": workstation.code},
            field="workstation",
            code="wrong_workstation",
        )


def _check_workable(work_order: WorkOrder) -> None:
    if work_order.status == WorkOrderStatus.ON_HOLD:
        raise Conflict(
            _("Order %(number)s is on hold: nothing can be recorded against it.")
            % {"number": work_order.number},
            field="work_order",
            code="order_on_hold",
        )
    if work_order.status not in WORKABLE:
        raise Conflict(
            _("Order %(number)s is %(status)s: it takes no production.")
            % {"number": work_order.number, "status": work_order.get_status_display().lower()},
            field="work_order",
            code="order_not_workable",
        )


def load_operation(operation_id: int, workstation: Workstation) -> tuple[WorkOrder, WorkOrderOperation]:
    """Lock the operation and its order for a tap at `workstation`; refused unless the operation
    runs there and its order takes production."""
    try:
        work_order, operation = lock_operation(operation_id)
    except WorkOrderOperation.DoesNotExist:
        raise ValidationFailed(_("No such operation."), field="operation", code="unknown_operation") from None
    _check_at_workstation(operation, workstation)
    operation.workstation = workstation  # the same row, as the caller loaded it (with its line)
    _check_workable(work_order)
    return work_order, operation


def touch_operation(operation: WorkOrderOperation, at: datetime, **changes) -> None:
    """Update operation projections without a history row per tap: the ledger is their record."""
    update_row(WorkOrderOperation, operation.pk, {"last_event_at": at, **changes})


def operation_start(
    *,
    operation_id: int,
    workstation: Workstation,
    user: User,
    key: uuid.UUID,
    occurred_at: datetime | None = None,
) -> Recorded:
    """Start an operation. Refused unless its order is workable, it runs at this workstation and
    the previous operation has started (unless the routing allows overlap). The first start of
    an order also moves the order to in progress."""
    at = clean_occurred_at(occurred_at)

    def act(fp: str) -> ProductionEvent:
        work_order, operation = load_operation(operation_id, workstation)
        if operation.status != OperationStatus.PENDING:
            raise Conflict(
                _("The operation is already %(status)s.")
                % {"status": operation.get_status_display().lower()},
                field="operation",
                code="already_started",
            )
        if not operation.allow_overlap:
            previous = (
                WorkOrderOperation.objects.filter(work_order=work_order, sequence__lt=operation.sequence)
                .order_by("-sequence")
                .first()
            )
            if previous is not None and previous.status == OperationStatus.PENDING:
                raise Conflict(
                    _("Operation %(sequence)s %(name)s has not started yet.")
                    % {"sequence": previous.sequence, "name": previous.name},
                    field="operation",
                    code="previous_not_started",
                )
        hooks.run_guards("operation_start", work_order=work_order, operation=operation, user=user)
        event = append_event(
            kind=EventKind.START,
            key=key,
            request_fingerprint=fp,
            user=user,
            occurred_at=at,
            work_order=work_order,
            operation=operation,
            workstation=workstation,
        )
        touch_operation(operation, at, status=OperationStatus.RUNNING, started_at=at)
        if work_order.status == WorkOrderStatus.RELEASED:
            record_status_change(
                work_order=work_order,
                target=WorkOrderStatus.IN_PROGRESS,
                user=user,
                key=derived_key(key, "order-started"),
                occurred_at=at,
                reason=gettext_noop("First operation started"),
            )
        return event

    request = {"action": "start", "operation": operation_id, "workstation": workstation.pk}
    try:
        return run_once(key, request, act, user=user)
    except MesError as exc:
        # The start's transaction has rolled back: what a refusal handler writes now stays
        # (quality keeps the starts its guards refused, see `quality.services.refusals`).
        hooks.dispatch_refusal(
            "operation_start", exc, operation_id=operation_id, workstation=workstation, user=user, key=key
        )
        raise


def operation_pause(
    *,
    operation_id: int,
    workstation: Workstation,
    user: User,
    reason,
    key: uuid.UUID,
    note: str = "",
    occurred_at: datetime | None = None,
) -> Recorded:
    """Pause a running operation with a pause reason."""
    at = clean_occurred_at(occurred_at)
    reason = clean_reason(reason, ReasonKind.PAUSE)

    def act(fp: str) -> ProductionEvent:
        work_order, operation = load_operation(operation_id, workstation)
        if operation.status != OperationStatus.RUNNING:
            raise Conflict(
                _("Only a running operation can be paused."), field="operation", code="not_running"
            )
        event = append_event(
            kind=EventKind.PAUSE,
            key=key,
            request_fingerprint=fp,
            user=user,
            occurred_at=at,
            work_order=work_order,
            operation=operation,
            reason=reason,
            note=note[:500],
        )
        touch_operation(operation, at, status=OperationStatus.PAUSED)
        return event

    request = {
        "action": "pause",
        "operation": operation_id,
        "workstation": workstation.pk,
        "reason": reason.code,
    }
    return run_once(key, request, act, user=user)


def operation_resume(
    *,
    operation_id: int,
    workstation: Workstation,
    user: User,
    key: uuid.UUID,
    occurred_at: datetime | None = None,
) -> Recorded:
    """Resume a paused operation."""
    at = clean_occurred_at(occurred_at)

    def act(fp: str) -> ProductionEvent:
        work_order, operation = load_operation(operation_id, workstation)
        if operation.status != OperationStatus.PAUSED:
            raise Conflict(_("Only a paused operation can be resumed."), field="operation", code="not_paused")
        event = append_event(
            kind=EventKind.RESUME,
            key=key,
            request_fingerprint=fp,
            user=user,
            occurred_at=at,
            work_order=work_order,
            operation=operation,
        )
        touch_operation(operation, at, status=OperationStatus.RUNNING)
        return event

    return run_once(
        key, {"action": "resume", "operation": operation_id, "workstation": workstation.pk}, act, user=user
    )


def operation_record_good(
    *,
    operation_id: int,
    workstation: Workstation,
    user: User,
    quantity,
    key: uuid.UUID,
    override_by: User | None = None,
    occurred_at: datetime | None = None,
) -> Recorded:
    """Count good units at a running operation.

    More than the order's remaining quantity needs `override_by`, a person allowed to override,
    and is recorded with their name. Reaching the order quantity finishes the operation; the
    last operation finishing completes the order. At the last operation the units become
    stock: a serial unit each for a serial-tracked product (linked to the material the order
    consumed), or more of the order's output lot for a lot-tracked one; the event's `data` names
    them (`serials` or `lot`).
    """
    at = clean_occurred_at(occurred_at)

    def act(fp: str) -> ProductionEvent:
        work_order, operation = load_operation(operation_id, workstation)
        qty = clean_quantity(quantity, unit=work_order.product.unit)
        if operation.status != OperationStatus.RUNNING:
            raise Conflict(
                _("Start or resume the operation before counting."), field="operation", code="not_running"
            )
        remaining = work_order.quantity - operation.quantity_good
        override = None
        if qty > remaining:
            if override_by is None:
                raise Conflict(
                    _("Only %(remaining)s left on this order; a supervisor must allow more.")
                    % {"remaining": format(remaining.normalize(), "f")},
                    field="quantity",
                    code="over_quantity",
                )
            if not override_by.has_perm("workorders.override_quantity"):
                raise Forbidden(
                    _("%(printed_name)s may not allow over-completion.")
                    % {"printed_name": override_by.printed_name},
                    field="override_by",
                    code="override_not_allowed",
                )
            override = override_by
        hooks.run_guards(
            "operation_record_good", work_order=work_order, operation=operation, user=user, quantity=qty
        )
        last = operation.is_last
        made = lots.completion_numbers(work_order, qty, at) if last else {"data": {}}
        data = {"remaining_before": str(remaining)} if override else {}
        event = append_event(
            kind=EventKind.GOOD,
            key=key,
            request_fingerprint=fp,
            user=user,
            occurred_at=at,
            work_order=work_order,
            operation=operation,
            quantity=qty,
            override_by=override,
            data={**data, **made["data"]},
        )
        good = operation.quantity_good + qty
        changes = {"quantity_good": good}
        if good >= work_order.quantity:
            changes["status"] = OperationStatus.DONE
        touch_operation(operation, at, **changes)
        if last:
            lots.completion_lots_make(made, work_order=work_order, event=event, quantity=qty, user=user)
            update_row(WorkOrder, work_order.pk, {"quantity_good": good})
            if good >= work_order.quantity:
                work_order.quantity_good = good
                record_status_change(
                    work_order=work_order,
                    target=WorkOrderStatus.COMPLETED,
                    user=user,
                    key=derived_key(key, "order-completed"),
                    occurred_at=at,
                    reason=gettext_noop("Last operation reached the order quantity"),
                )
        return event

    request = {
        "action": "good",
        "operation": operation_id,
        "workstation": workstation.pk,
        "quantity": amount(quantity),
        "override_by": override_by.pk if override_by else None,
    }
    return run_once(key, request, act, user=user)


def operation_record_scrap(
    *,
    operation_id: int,
    workstation: Workstation,
    user: User,
    quantity,
    reason,
    key: uuid.UUID,
    note: str = "",
    occurred_at: datetime | None = None,
) -> Recorded:
    """Record scrapped units at a started operation, with a scrap reason."""
    at = clean_occurred_at(occurred_at)
    reason = clean_reason(reason, ReasonKind.SCRAP)

    def act(fp: str) -> ProductionEvent:
        work_order, operation = load_operation(operation_id, workstation)
        qty = clean_quantity(quantity, unit=work_order.product.unit)
        if operation.status not in (OperationStatus.RUNNING, OperationStatus.PAUSED):
            raise Conflict(
                _("Start the operation before recording scrap."), field="operation", code="not_started"
            )
        hooks.run_guards(
            "operation_record_scrap", work_order=work_order, operation=operation, user=user, quantity=qty
        )
        event = append_event(
            kind=EventKind.SCRAP,
            key=key,
            request_fingerprint=fp,
            user=user,
            occurred_at=at,
            work_order=work_order,
            operation=operation,
            quantity=qty,
            reason=reason,
            note=note[:500],
        )
        touch_operation(operation, at, quantity_scrap=F("quantity_scrap") + qty)
        WorkOrder.objects.filter(pk=work_order.pk).update(quantity_scrap=F("quantity_scrap") + qty)
        return event

    request = {
        "action": "scrap",
        "operation": operation_id,
        "workstation": workstation.pk,
        "quantity": amount(quantity),
        "reason": reason.code,
    }
    return run_once(key, request, act, user=user)
