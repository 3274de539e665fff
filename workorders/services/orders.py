"""Work orders on the supervisor's board: create, edit, release, hold, close, cancel, reprioritise.

Every status change appends an `order_status` event to the ledger (the ERP hears of it from
there) and raises the order's version, so an edit made on a stale copy is refused.

Completing and closing are guarded in one place, `record_status_change`, which every way an
order completes goes through (its last count from a tablet, the API or a machine; by hand from
the board or the API) and every way it closes (the board, the API, the ERP): the guards of
"workorder_complete" and "workorder_close" (`mes.hooks`) refuse there. A refusal its guard
registered as overridable can be gone past by hand only, by a supervisor's explicit override: a
reason and an e-signature (meaning "overridden") on the ledger event, which names each refusal
it overrode, so the order's record shows it as an exception.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes import hooks
from mes.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed, full_clean
from mes.models import Line, User
from mes.signatures import Meaning, Reauthentication, signature_reauthenticate, signature_sign
from workorders.locks import lock_work_order, lock_work_orders
from workorders.models import Product, ProductionEvent, Routing, WorkOrder, WorkOrderOperation
from workorders.services.events import append_event, clean_quantity, clean_reason
from workorders.services.idempotency import Recorded, is_recorded, run_once
from workorders.states import WORK_ORDER_TRANSITIONS, EventKind, ReasonKind, WorkOrderStatus

S = WorkOrderStatus
# The guard action (`mes.hooks`) each guarded status answers to.
GUARDED = {S.COMPLETED: "workorder_complete", S.CLOSED: "workorder_close"}


class OverridableRefusal(Conflict):
    """Refused only by guards a supervisor may go past with a signed override; the answer says
    so (`overridable`), so the board offers the override and an API client knows it may ask."""

    overridable = True

    def __init__(self, refusals: list[hooks.Refusal]):
        first = refusals[0].error
        messages = [str(r.error.message) for r in refusals]
        message = " ".join([*messages, _("A supervisor may override with a reason and a signature.")])
        super().__init__(message, code=first.code, field=first.field)
        self.refusals = refusals

    def as_dict(self) -> dict:
        return {**super().as_dict(), "overridable": True}


def _check_version(work_order: WorkOrder, version: int | None) -> None:
    if version is not None and int(version) != work_order.version:
        raise Conflict(
            _(
                "Order %(number)s was changed by someone else (version %(version)s, yours %(version2)s). Reload and try again."
            )
            % {"number": work_order.number, "version": work_order.version, "version2": version},
            field="version",
            code="stale_version",
        )


def _save(work_order: WorkOrder, reason: str, fields: list[str], user: User) -> None:
    work_order.version += 1
    work_order._history_user = user
    work_order._change_reason = reason
    # No unique check: the order's number, its only unique field, is never changed after
    # `workorder_create` checked it (and the unique constraint guards it). The check was a
    # SELECT inside the locked transaction of every status change, the production ones too.
    full_clean(work_order, validate_unique=False)
    work_order.save(update_fields=[*fields, "version"])


@transaction.atomic
def workorder_create(
    *,
    number: str,
    product: Product,
    routing: Routing,
    line: Line,
    quantity,
    user: User,
    due: datetime | None = None,
    priority: int | None = None,
) -> WorkOrder:
    """Create a draft order. The routing must make the product; priority defaults to the end of the queue."""
    if routing.product_id != product.pk:
        raise ValidationFailed(
            _("Routing %(routing)s does not make %(part_number)s.")
            % {"routing": routing, "part_number": product.part_number},
            field="routing",
            code="routing_product_mismatch",
        )
    if not routing.operations.exists():
        raise ValidationFailed(
            _("Routing %(routing)s has no operations.") % {"routing": routing},
            field="routing",
            code="empty_routing",
        )
    if WorkOrder.objects.filter(number=number).exists():
        raise Conflict(
            _("Order %(number)s already exists.") % {"number": number},
            field="number",
            code="duplicate_number",
        )
    if priority is None:
        last = WorkOrder.objects.order_by("-priority").values_list("priority", flat=True).first()
        priority = (last or 0) + 10
    work_order = WorkOrder(
        number=number,
        product=product,
        routing=routing,
        line=line,
        quantity=clean_quantity(quantity, unit=product.unit),
        due=due,
        priority=priority,
    )
    full_clean(work_order)
    work_order._change_reason = f"Created by {user.username}"
    work_order._history_user = user
    work_order.save()
    return work_order


@transaction.atomic
def workorder_update(
    *,
    work_order_id: int,
    version: int,
    user: User,
    reason: str,
    quantity=None,
    due: datetime | None = None,
    line: Line | None = None,
) -> WorkOrder:
    """Edit an order's quantity, due date or line. The quantity can't drop below what is done."""
    work_order = lock_work_order(work_order_id)
    _check_version(work_order, version)
    if work_order.status in (S.CLOSED, S.CANCELLED):
        raise Conflict(
            _("Order %(number)s is %(status)s; it can't be edited.")
            % {"number": work_order.number, "status": work_order.get_status_display().lower()},
            code="order_final",
        )
    if not (reason or "").strip():
        raise ValidationFailed(_("Say why the order is changed."), field="reason", code="required")
    fields = []
    if quantity is not None:
        qty = clean_quantity(quantity, unit=work_order.product.unit)
        if qty < work_order.quantity_good:
            raise ValidationFailed(
                _("The quantity can't be less than the %(quantity_good)s already completed.")
                % {"quantity_good": format(work_order.quantity_good.normalize(), "f")},
                field="quantity",
                code="below_completed",
            )
        work_order.quantity = qty
        fields.append("quantity")
    if due is not None:
        work_order.due = due
        fields.append("due")
    if line is not None:
        if work_order.status != S.DRAFT:
            raise Conflict(_("Only a draft order can move to another line."), field="line", code="not_draft")
        work_order.line = line
        fields.append("line")
    _save(work_order, reason, fields, user)
    return work_order


def record_status_change(
    *,
    work_order: WorkOrder,
    target: str,
    user: User,
    key: uuid.UUID,
    occurred_at: datetime,
    reason: str = "",
    reason_code=None,
    request_fingerprint: str = "derived",
    override: Reauthentication | None = None,
) -> ProductionEvent:
    """Move a locked order to `target` and append its ledger event; inside the caller's transaction.

    Completing and closing ask their guards first, whoever asks (see the module). `override`, a
    supervisor's fresh re-authentication, completes over the overridable refusals: the event
    carries them and the overrider, and is signed "overridden" with `reason`.
    """
    WORK_ORDER_TRANSITIONS.require(
        work_order.status, target, record=_("Order %(number)s") % {"number": work_order.number}
    )
    previous = work_order.status
    data = {"from": previous, "to": target}
    overridden = _check_guards(work_order, target, user, override)
    if override is not None:
        data["override"] = {
            "refusals": overridden,
            "quantity_good": f"{work_order.quantity_good.normalize():f}",
            "quantity": f"{work_order.quantity.normalize():f}",
        }
    event = append_event(
        kind=EventKind.ORDER_STATUS,
        key=key,
        request_fingerprint=request_fingerprint,
        user=user,
        occurred_at=occurred_at,
        work_order=work_order,
        reason=reason_code,
        note=reason[:500],
        data=data,
        override_by=user if override is not None else None,
    )
    if override is not None:
        signature_sign(
            record=event, signer=user, meaning=Meaning.OVERRIDDEN, reauth=override, comment=reason.strip()
        )
    work_order.status = target
    fields = ["status"]
    if target == S.ON_HOLD:
        work_order.status_before_hold = previous
        fields.append("status_before_hold")
    stamp = {S.RELEASED: "released_at", S.IN_PROGRESS: "started_at", S.COMPLETED: "completed_at"}.get(target)
    if stamp and getattr(work_order, stamp) is None:
        setattr(work_order, stamp, occurred_at)
        fields.append(stamp)
    _save(work_order, reason or f"{previous} → {target}", fields, user)
    return event


def _check_guards(
    work_order: WorkOrder, target: str, user: User, override: Reauthentication | None
) -> list[dict]:
    """Ask the guards of `target`: a refusal no override passes stands; overridable ones stand
    unless `override`. Returns the refusals the override went past, as the event keeps them."""
    action = GUARDED.get(target)
    if action is None:
        if override is not None:
            raise ValidationFailed(
                _("Only completing an order takes an override."), field="override", code="not_overridable"
            )
        return []
    refusals = hooks.guard_refusals(action, work_order=work_order, user=user)
    for refusal in refusals:
        if not refusal.overridable:
            raise refusal.error
    if refusals and override is None:
        raise OverridableRefusal(refusals)
    return [{"code": r.error.code, "field": r.error.field, "message": r.error.message} for r in refusals]


def _copy_routing(work_order: WorkOrder) -> None:
    routing = work_order.routing
    WorkOrderOperation.objects.bulk_create(
        WorkOrderOperation(
            work_order=work_order,
            sequence=op.sequence,
            name=op.name,
            workstation_id=op.workstation_id,
            setup_seconds=op.setup_seconds,
            ideal_cycle_seconds=op.ideal_cycle_seconds,
            allow_overlap=routing.allow_overlap,
            routing_operation=op,
        )
        for op in routing.operations.order_by("sequence")
    )


def workorder_transition(
    *,
    work_order_id: int,
    target: str,
    user: User,
    key: uuid.UUID,
    version: int | None = None,
    reason: str = "",
    reason_code: str | None = None,
    override: bool = False,
    password: str | None = None,
    request=None,
) -> Recorded:
    """Release, hold, resume from hold, complete, close or cancel an order, once per key.

    Release copies the routing into the order's operations. A hold needs a hold reason; leaving a
    hold returns the order to where it was. Completing by hand (a short order) needs a reason.
    Completing and closing are refused by their guards (see the module); with `override`, a
    person allowed to change orders' status completes over the overridable refusals by signing
    with their `password`. The password is checked before the transaction, so a wrong one is
    counted toward lock-out though nothing is written; a retry of a done override asks none.
    """
    if target not in S.values:
        raise ValidationFailed(
            _("'%(target)s' is not an order status.") % {"target": target},
            field="status",
            code="unknown_status",
        )
    hold_reason = clean_reason(reason_code, ReasonKind.HOLD) if target == S.ON_HOLD else None
    if target in (S.CANCELLED, S.COMPLETED) and not (reason or "").strip():
        raise ValidationFailed(_("Say why."), field="reason", code="required")
    if override and target != S.COMPLETED:
        raise ValidationFailed(
            _("Only completing an order takes an override."), field="override", code="not_overridable"
        )
    if override and not user.has_perm("workorders.transition_workorder"):
        raise Forbidden(_("Only a supervisor may override."), field="override", code="override_not_allowed")
    reauth = None
    if override and not is_recorded(key):
        reauth = signature_reauthenticate(signer=user, password=password, request=request)

    def act(fp: str) -> ProductionEvent:
        work_order = lock_work_order(work_order_id)
        _check_version(work_order, version)
        if work_order.status == S.ON_HOLD and target != S.CANCELLED:
            # Quality refuses this while one of its holds is active on the order.
            hooks.run_guards("workorder_release_hold", work_order=work_order, user=user)
        if target == S.RELEASED and work_order.status == S.DRAFT:
            _copy_routing(work_order)
        return record_status_change(
            work_order=work_order,
            target=target,
            user=user,
            key=key,
            occurred_at=timezone.now(),
            reason=reason,
            reason_code=hold_reason,
            request_fingerprint=fp,
            override=reauth,
        )

    body = {
        "action": "order_status",
        "work_order": work_order_id,
        "target": target,
        "reason_code": reason_code or "",
    }
    if override:
        body["override"] = True
    return run_once(key, body, act, user=user, look_first=override)


def workorder_release_hold(
    *, work_order_id: int, user: User, key: uuid.UUID, version: int | None = None, reason: str = ""
) -> Recorded:
    """Take an order off hold, back to the status it had before."""
    work_order = WorkOrder.objects.get(pk=work_order_id)
    if work_order.status != S.ON_HOLD:
        raise IllegalTransition(
            _("Order %(number)s is not on hold.") % {"number": work_order.number}, field="status"
        )
    return workorder_transition(
        work_order_id=work_order_id,
        target=work_order.status_before_hold,
        user=user,
        key=key,
        version=version,
        reason=reason or "Hold released",
    )


@transaction.atomic
def workorder_move(*, work_order_id: int, direction: str, user: User) -> WorkOrder:
    """Swap an open order's priority with its neighbour above ("up") or below ("down") on its line."""
    if direction not in ("up", "down"):
        raise ValidationFailed(_("Move up or down."), field="direction", code="invalid_direction")
    work_order = WorkOrder.objects.get(pk=work_order_id)
    open_on_line = WorkOrder.objects.filter(
        line_id=work_order.line_id, status__in=[S.DRAFT, S.RELEASED, S.IN_PROGRESS, S.ON_HOLD]
    )
    if direction == "up":
        neighbour = (
            open_on_line.filter(priority__lte=work_order.priority)
            .exclude(pk=work_order.pk)
            .order_by("-priority", "-pk")
            .first()
        )
    else:
        neighbour = (
            open_on_line.filter(priority__gte=work_order.priority)
            .exclude(pk=work_order.pk)
            .order_by("priority", "pk")
            .first()
        )
    if neighbour is None:
        return work_order
    first, second = lock_work_orders([work_order.pk, neighbour.pk])
    mine, theirs = (first, second) if first.pk == work_order.pk else (second, first)
    mine_priority, theirs_priority = theirs.priority, mine.priority
    if mine_priority == theirs_priority:
        mine_priority += -1 if direction == "up" else 1
    for order, priority in ((mine, mine_priority), (theirs, theirs_priority)):
        order.priority = priority
        reason = f"Moved {direction} by {user.username}" if order is mine else "Reprioritised"
        _save(order, reason, ["priority"], user)
    return mine
