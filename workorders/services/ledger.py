"""Production on the floor: start, pause, resume, good and scrap counts, material consumed, downtime.

Each action appends one event to the ledger and updates the projections (operation and order
counters, statuses, open downtime) in the same transaction, once per idempotency key.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db.models import F, Sum
from django.utils import timezone

from mes import hooks
from mes.errors import Conflict, Forbidden, ValidationFailed
from mes.idempotency import amount
from mes.models import User, Workstation
from workorders.locks import lock_operation
from workorders.models import (
    BomLine,
    Consumption,
    Downtime,
    Lot,
    ProductionEvent,
    ReasonCode,
    WorkOrder,
    WorkOrderOperation,
)
from workorders.services import lots
from workorders.services.idempotency import Recorded, derived_key, run_once
from workorders.states import (
    WORKABLE,
    EventKind,
    LotStatus,
    OperationStatus,
    ReasonKind,
    Tracking,
    WorkOrderStatus,
)

# A tablet that was offline sends its taps late with the time they were made; older or
# future times are refused rather than silently moved.
MAX_BACKDATE = timedelta(hours=24)
MAX_CLOCK_SKEW = timedelta(minutes=2)


def append_event(
    *,
    kind: str,
    key: uuid.UUID,
    request_fingerprint: str,
    user: User,
    occurred_at: datetime,
    work_order: WorkOrder | None = None,
    operation: WorkOrderOperation | None = None,
    workstation: Workstation | None = None,
    **fields,
) -> ProductionEvent:
    """Append one ledger event and hand it to the registered in-transaction handlers."""
    if workstation is None and operation is not None:
        workstation = operation.workstation
    event = ProductionEvent.objects.create(
        kind=kind,
        idempotency_key=key,
        request_fingerprint=request_fingerprint,
        user=user,
        occurred_at=occurred_at,
        work_order=work_order,
        operation=operation,
        workstation=workstation,
        line_id=workstation.line_id if workstation else (work_order.line_id if work_order else None),
        **fields,
    )
    hooks.dispatch_event(event)
    return event


def clean_occurred_at(value: datetime | None) -> datetime:
    now = timezone.now()
    if value is None:
        return now
    if timezone.is_naive(value):
        raise ValidationFailed("The time must include its time zone.", field="occurred_at", code="naive_time")
    if value > now + MAX_CLOCK_SKEW:
        raise ValidationFailed(
            "The time lies in the future; check the tablet's clock.", field="occurred_at", code="future_time"
        )
    if value < now - MAX_BACKDATE:
        raise ValidationFailed(
            "The time is more than a day old; ask a supervisor to record it.",
            field="occurred_at",
            code="too_old",
        )
    return value


def clean_quantity(value, *, unit: str) -> Decimal:
    try:
        quantity = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(
            "The quantity must be a number.", field="quantity", code="not_a_number"
        ) from None
    if not quantity.is_finite() or quantity <= 0:
        raise ValidationFailed("The quantity must be more than zero.", field="quantity", code="not_positive")
    if quantity.as_tuple().exponent < -3:
        raise ValidationFailed("The quantity has more than 3 decimals.", field="quantity", code="too_precise")
    if unit == "pcs" and quantity != quantity.to_integral_value():
        raise ValidationFailed("Pieces are counted in whole numbers.", field="quantity", code="not_whole")
    if quantity > Decimal("1000000"):
        raise ValidationFailed("The quantity is implausibly large.", field="quantity", code="too_large")
    return quantity


def clean_reason(reason: ReasonCode | str | None, kind: str) -> ReasonCode:
    if isinstance(reason, ReasonCode):
        found = reason if reason.active and reason.kind == kind else None
    else:
        found = ReasonCode.objects.filter(code=reason or "", kind=kind, active=True).first()
    if found is None:
        raise ValidationFailed(
            f"Choose a {ReasonKind(kind).label.lower()} reason from the list.",
            field="reason",
            code="unknown_reason",
        )
    return found


def _check_at_workstation(operation: WorkOrderOperation, workstation: Workstation) -> None:
    if operation.workstation_id != workstation.pk:
        raise ValidationFailed(
            f"This operation runs at {operation.workstation.code}, not at {workstation.code}.",
            field="workstation",
            code="wrong_workstation",
        )


def _check_workable(work_order: WorkOrder) -> None:
    if work_order.status == WorkOrderStatus.ON_HOLD:
        raise Conflict(
            f"Order {work_order.number} is on hold: nothing can be recorded against it.",
            field="work_order",
            code="order_on_hold",
        )
    if work_order.status not in WORKABLE:
        raise Conflict(
            f"Order {work_order.number} is {work_order.get_status_display().lower()}: "
            "it takes no production.",
            field="work_order",
            code="order_not_workable",
        )


def _load(operation_id: int, workstation: Workstation) -> tuple[WorkOrder, WorkOrderOperation]:
    try:
        work_order, operation = lock_operation(operation_id)
    except WorkOrderOperation.DoesNotExist:
        raise ValidationFailed("No such operation.", field="operation", code="unknown_operation") from None
    _check_at_workstation(operation, workstation)
    operation.workstation = workstation  # the same row, as the caller loaded it (with its line)
    _check_workable(work_order)
    return work_order, operation


def _touch(operation: WorkOrderOperation, at: datetime, **changes) -> None:
    """Update operation projections without a history row per tap: the ledger is their record."""
    WorkOrderOperation.objects.filter(pk=operation.pk).update(last_event_at=at, **changes)


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
        work_order, operation = _load(operation_id, workstation)
        if operation.status != OperationStatus.PENDING:
            raise Conflict(
                f"The operation is already {operation.get_status_display().lower()}.",
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
                    f"Operation {previous.sequence} {previous.name} has not started yet.",
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
        _touch(operation, at, status=OperationStatus.RUNNING, started_at=at)
        if work_order.status == WorkOrderStatus.RELEASED:
            from workorders.services.orders import record_status_change

            record_status_change(
                work_order=work_order,
                target=WorkOrderStatus.IN_PROGRESS,
                user=user,
                key=derived_key(key, "order-started"),
                occurred_at=at,
                reason="First operation started",
            )
        return event

    return run_once(
        key, {"action": "start", "operation": operation_id, "workstation": workstation.pk}, act, user=user
    )


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
        work_order, operation = _load(operation_id, workstation)
        if operation.status != OperationStatus.RUNNING:
            raise Conflict("Only a running operation can be paused.", field="operation", code="not_running")
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
        _touch(operation, at, status=OperationStatus.PAUSED)
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
        work_order, operation = _load(operation_id, workstation)
        if operation.status != OperationStatus.PAUSED:
            raise Conflict("Only a paused operation can be resumed.", field="operation", code="not_paused")
        event = append_event(
            kind=EventKind.RESUME,
            key=key,
            request_fingerprint=fp,
            user=user,
            occurred_at=at,
            work_order=work_order,
            operation=operation,
        )
        _touch(operation, at, status=OperationStatus.RUNNING)
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
        work_order, operation = _load(operation_id, workstation)
        qty = clean_quantity(quantity, unit=work_order.product.unit)
        if operation.status != OperationStatus.RUNNING:
            raise Conflict(
                "Start or resume the operation before counting.", field="operation", code="not_running"
            )
        remaining = work_order.quantity - operation.quantity_good
        override = None
        if qty > remaining:
            if override_by is None:
                raise Conflict(
                    f"Only {remaining.normalize():f} left on this order; a supervisor must allow more.",
                    field="quantity",
                    code="over_quantity",
                )
            if not override_by.has_perm("workorders.override_quantity"):
                raise Forbidden(
                    f"{override_by.printed_name} may not allow over-completion.",
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
            kind=EventKind.COMPLETE,
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
        _touch(operation, at, **changes)
        if last:
            lots.completion_lots_make(made, work_order=work_order, event=event, quantity=qty, user=user)
            WorkOrder.objects.filter(pk=work_order.pk).update(quantity_good=good)
            if good >= work_order.quantity:
                from workorders.services.orders import record_status_change

                work_order.quantity_good = good
                record_status_change(
                    work_order=work_order,
                    target=WorkOrderStatus.COMPLETED,
                    user=user,
                    key=derived_key(key, "order-completed"),
                    occurred_at=at,
                    reason="Last operation reached the order quantity",
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
        work_order, operation = _load(operation_id, workstation)
        qty = clean_quantity(quantity, unit=work_order.product.unit)
        if operation.status not in (OperationStatus.RUNNING, OperationStatus.PAUSED):
            raise Conflict(
                "Start the operation before recording scrap.", field="operation", code="not_started"
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
        _touch(operation, at, quantity_scrap=F("quantity_scrap") + qty)
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


def _consumed_of(work_order: WorkOrder, component_id: int) -> Decimal:
    total = Consumption.objects.filter(work_order=work_order, lot__product_id=component_id).aggregate(
        total=Sum("quantity")
    )["total"]
    return total or Decimal(0)


def _consume_quantity(quantity, *, lot: Lot, bom: BomLine, work_order: WorkOrder) -> Decimal:
    """The quantity given, or by default what the order still needs of the component (its BOM
    quantity per unit times the order quantity, less what it consumed already), at most the
    lot's rest."""
    if quantity not in (None, ""):
        return clean_quantity(quantity, unit=lot.product.unit)
    need = bom.quantity * work_order.quantity - _consumed_of(work_order, lot.product_id)
    if need <= 0:
        raise ValidationFailed(
            f"Order {work_order.number} has all the {lot.product.part_number} it needs; "
            "enter the quantity to consume more.",
            field="quantity",
            code="quantity_required",
        )
    return min(need, lot.quantity_left)


def operation_consume(
    *,
    operation_id: int,
    workstation: Workstation,
    user: User,
    lot_code: str,
    quantity=None,
    key: uuid.UUID,
    occurred_at: datetime | None = None,
) -> Recorded:
    """Consume a component lot at a started operation, once per key.

    The lot must exist at the order's site, be of a component in the BOM of the order's product,
    be available (quality guards refuse a held lot) and have the quantity left; without a
    quantity, what the order still needs of it is taken, at most the lot's rest. Records the
    consume event (`data.lot`), the consumption and the lot's new rest, and the genealogy: for a
    lot-tracked product at once a link to the order's current output lot (made on first need);
    for a serial-tracked product the links are made as serial units complete.
    """
    at = clean_occurred_at(occurred_at)
    code = (lot_code or "").strip()
    if not code:
        raise ValidationFailed("Scan or type the lot number.", field="lot", code="required")

    def act(fp: str) -> ProductionEvent:
        work_order, operation = _load(operation_id, workstation)
        if operation.status not in (OperationStatus.RUNNING, OperationStatus.PAUSED):
            raise Conflict(
                "Start the operation before consuming material.", field="operation", code="not_started"
            )
        lot = Lot.objects.select_for_update(of=("self",)).select_related("product").filter(code=code).first()
        if lot is None:
            raise ValidationFailed(f"There is no lot {code}.", field="lot", code="unknown_lot")
        product = work_order.product
        if lot.site_id != work_order.line.site_id:
            raise ValidationFailed(f"Lot {code} is at another site.", field="lot", code="lot_other_site")
        bom = BomLine.objects.filter(product=product, component=lot.product).first()
        if bom is None:
            raise ValidationFailed(
                f"Lot {code} is of part {lot.product.part_number}, which is not in the bill of materials "
                f"of {product.part_number}.",
                field="lot",
                code="not_in_bom",
            )
        if lot.status != LotStatus.AVAILABLE:
            raise Conflict(
                f"Lot {code} is {lot.get_status_display().lower()}: nothing of it can be consumed.",
                field="lot",
                code="lot_not_available",
            )
        qty = _consume_quantity(quantity, lot=lot, bom=bom, work_order=work_order)
        left = lot.quantity_left
        if qty > left:
            raise Conflict(
                f"Only {left.normalize():f} {lot.product.unit} of lot {code} is left.",
                field="quantity",
                code="over_lot_quantity",
            )
        hooks.run_guards(
            "operation_consume", work_order=work_order, operation=operation, user=user, lot=lot, quantity=qty
        )
        output = lots.output_lot_find(work_order, at) if product.tracking == Tracking.LOT else None
        event = append_event(
            kind=EventKind.CONSUME,
            key=key,
            request_fingerprint=fp,
            user=user,
            occurred_at=at,
            work_order=work_order,
            operation=operation,
            quantity=qty,
            data={
                "lot": lot.code,
                "product": lot.product.part_number,
                "unit": lot.product.unit,
                **({"into": output.code} if output else {}),
            },
        )
        consumption = Consumption(
            event=event, lot=lot, work_order=work_order, operation=operation, quantity=qty
        )
        consumption._history_user = user
        consumption._change_reason = f"Consumed at {operation}"
        consumption.save()
        lots.lot_consumed(lot, qty, user, f"Consumed by order {work_order.number}")
        if output is not None:
            into = lots.output_lot_make(output, work_order=work_order, event=event, user=user)
            lots.genealogy_link(parent=lot, child=into, quantity=qty, event=event, user=user)
            Consumption.objects.filter(pk=consumption.pk).update(quantity_allocated=qty)
        _touch(operation, at)
        return event

    request = {
        "action": "consume",
        "operation": operation_id,
        "workstation": workstation.pk,
        "lot": code,
        "quantity": amount(quantity),
    }
    return run_once(key, request, act, user=user)


def _lock_workstation(workstation: Workstation) -> Workstation:
    return Workstation.objects.select_for_update(of=("self",)).select_related("line").get(pk=workstation.pk)


def downtime_start(
    *,
    workstation: Workstation,
    user: User,
    reason,
    key: uuid.UUID,
    note: str = "",
    occurred_at: datetime | None = None,
) -> Recorded:
    """Open a downtime at a workstation; refused while another is open there."""
    at = clean_occurred_at(occurred_at)
    reason = clean_reason(reason, ReasonKind.DOWNTIME)

    def act(fp: str) -> ProductionEvent:
        station = _lock_workstation(workstation)
        if Downtime.objects.filter(workstation=station, ended_at__isnull=True).exists():
            raise Conflict(
                f"{station.code} already has an open downtime; end it first.",
                field="workstation",
                code="downtime_open",
            )
        event = append_event(
            kind=EventKind.DOWNTIME_START,
            key=key,
            request_fingerprint=fp,
            user=user,
            occurred_at=at,
            workstation=station,
            reason=reason,
            note=note[:500],
            data={"planned": reason.planned},
        )
        Downtime.objects.create(
            workstation=station, reason=reason, planned=reason.planned, started_at=at, start_event=event
        )
        return event

    return run_once(
        key,
        {"action": "downtime_start", "workstation": workstation.pk, "reason": reason.code},
        act,
        user=user,
    )


def downtime_end(
    *, workstation: Workstation, user: User, key: uuid.UUID, occurred_at: datetime | None = None
) -> Recorded:
    """Close the open downtime of a workstation."""
    at = clean_occurred_at(occurred_at)

    def act(fp: str) -> ProductionEvent:
        station = _lock_workstation(workstation)
        downtime = Downtime.objects.filter(workstation=station, ended_at__isnull=True).first()
        if downtime is None:
            raise Conflict(
                f"{station.code} has no open downtime.", field="workstation", code="no_open_downtime"
            )
        ended = max(at, downtime.started_at)
        event = append_event(
            kind=EventKind.DOWNTIME_END,
            key=key,
            request_fingerprint=fp,
            user=user,
            occurred_at=ended,
            workstation=station,
            reason=downtime.reason,
            data={"downtime": downtime.pk},
        )
        Downtime.objects.filter(pk=downtime.pk).update(ended_at=ended, end_event=event)
        return event

    return run_once(key, {"action": "downtime_end", "workstation": workstation.pk}, act, user=user)
