"""The ledger rule: every production fact is one appended event, and what an event may carry.

`append_event` writes the event and hands it to the in-transaction handlers (the live status,
the outbox); nothing changes an event afterwards. The `clean_*` helpers are the checks every
action applies to a time, a quantity or a reason before it appends.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.translation import gettext as _

from mes import hooks
from mes.compiled import insert_row
from mes.errors import ValidationFailed
from mes.models import User, Workstation
from workorders.models import ProductionEvent, ReasonCode, WorkOrder, WorkOrderOperation
from workorders.states import ReasonKind

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
    event = ProductionEvent(
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
    insert_row(event)  # the ledger's append, on every tap: no insert query built each time
    hooks.dispatch_event(event)
    return event


def clean_occurred_at(value: datetime | None) -> datetime:
    now = timezone.now()
    if value is None:
        return now
    if timezone.is_naive(value):
        raise ValidationFailed(
            _("The time must include its time zone."), field="occurred_at", code="naive_time"
        )
    if value > now + MAX_CLOCK_SKEW:
        raise ValidationFailed(
            _("The time lies in the future; check the tablet's clock."),
            field="occurred_at",
            code="future_time",
        )
    if value < now - MAX_BACKDATE:
        raise ValidationFailed(
            _("The time is more than a day old; ask a supervisor to record it."),
            field="occurred_at",
            code="too_old",
        )
    return value


def clean_quantity(value, *, unit: str) -> Decimal:
    try:
        quantity = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(
            _("The quantity must be a number."), field="quantity", code="not_a_number"
        ) from None
    if not quantity.is_finite() or quantity <= 0:
        raise ValidationFailed(
            _("The quantity must be more than zero."), field="quantity", code="not_positive"
        )
    if quantity.as_tuple().exponent < -3:
        raise ValidationFailed(
            _("The quantity has more than 3 decimals."), field="quantity", code="too_precise"
        )
    if unit == "pcs" and quantity != quantity.to_integral_value():
        raise ValidationFailed(_("Pieces are counted in whole numbers."), field="quantity", code="not_whole")
    if quantity > Decimal("1000000"):
        raise ValidationFailed(_("The quantity is implausibly large."), field="quantity", code="too_large")
    return quantity


def _reason_required(kind: str) -> str:
    """The refusal of a missing or unknown reason, naming the kind of reason wanted."""
    messages = {
        ReasonKind.SCRAP: _("Choose a scrap reason from the list."),
        ReasonKind.DOWNTIME: _("Choose a downtime reason from the list."),
        ReasonKind.PAUSE: _("Choose a pause reason from the list."),
        ReasonKind.HOLD: _("Choose a hold reason from the list."),
    }
    return messages.get(kind) or _("Choose a reason from the list.")


def clean_reason(reason: ReasonCode | str | None, kind: str) -> ReasonCode:
    if isinstance(reason, ReasonCode):
        found = reason if reason.active and reason.kind == kind else None
    else:
        found = ReasonCode.objects.filter(code=reason or "", kind=kind, active=True).first()
    if found is None:
        raise ValidationFailed(
            _reason_required(kind),
            field="reason",
            code="unknown_reason",
        )
    return found
