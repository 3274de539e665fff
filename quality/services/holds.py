"""Holds on work orders (and, once traceability brings lots, on lots).

Placing a hold on an order also puts the order on hold through the production service, so the
board and the tablets show it; the quality guard refuses production against an order with an
active hold in any case. Releasing needs the quality role, a reason and an e-signature; the order
leaves hold when its last active hold is released.
"""

from __future__ import annotations

import uuid

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from mes.errors import Conflict, Forbidden, ValidationFailed
from mes.models import User
from mes.signatures import Meaning, signature_reauthenticate, signature_sign
from quality.live import announce
from quality.models import Hold, Nonconformance
from quality.services.records import lock, require, save
from quality.services.requests import Done, replayed, run_once
from quality.states import HoldStatus, HoldTarget
from workorders import services as production
from workorders.models import ReasonCode, WorkOrder
from workorders.states import ReasonKind, WorkOrderStatus

S = WorkOrderStatus
HOLDABLE = {S.RELEASED, S.IN_PROGRESS}
QUALITY_HOLD_CODE = "QHOLD"


def _hold_reason_code() -> str:
    codes = ReasonCode.objects.filter(kind=ReasonKind.HOLD, active=True)
    found = codes.filter(code=QUALITY_HOLD_CODE).first() or codes.order_by("code").first()
    if found is None:
        raise ValidationFailed(
            _("Define a hold reason code first (master data)."), field="reason_code", code="no_hold_reason"
        )
    return found.code


def hold_place(
    *,
    key: uuid.UUID,
    user: User,
    work_order: WorkOrder,
    reason: str,
    nonconformance: Nonconformance | None = None,
) -> Done:
    """Place a hold on a work order, once per key; a released or running order goes on hold."""
    require(user, "quality.add_hold", _("Only a supervisor or quality may place a hold."))
    if not (reason or "").strip():
        raise ValidationFailed(_("Say why the order is held."), field="reason", code="required")

    def act() -> Hold:
        order = WorkOrder.objects.select_related("line").get(pk=work_order.pk)
        if order.status in (S.CLOSED, S.CANCELLED):
            raise Conflict(
                _("Order %(order)s is %(status)s: nothing to hold.")
                % {"order": order.number, "status": order.status},
                code="order_final",
            )
        hold = Hold(
            target=HoldTarget.WORK_ORDER,
            work_order=order,
            site=order.line.site,
            reason=reason.strip()[:500],
            nonconformance=nonconformance,
            placed_by=user,
            placed_at=timezone.now(),
        )
        save(hold, user=user, reason=gettext_noop("Hold placed"))
        announce(hold)
        if order.status in HOLDABLE:
            production.workorder_transition(
                work_order_id=order.pk,
                target=S.ON_HOLD,
                user=user,
                key=uuid.uuid5(key, "order-hold"),
                reason=f"Quality hold: {reason.strip()}"[:500],
                reason_code=_hold_reason_code(),
            )
        return hold

    request = {
        "work_order": work_order.pk,
        "reason": reason,
        "nc": nonconformance.pk if nonconformance else None,
    }
    return run_once(key, "hold_place", request, act, user=user)


def hold_release(
    *,
    hold_id: int,
    user: User,
    reason: str,
    key: uuid.UUID,
    password: str | None = None,
    badge_number: str | None = None,
    pin: str | None = None,
    request=None,
) -> Done:
    """Release a hold: quality role, a reason and an e-signature (meaning "released")."""
    if not user.has_perm("quality.release_hold"):
        raise Forbidden(_("Only quality may release a hold."), code="not_allowed")
    if not (reason or "").strip():
        raise ValidationFailed(_("Say why the hold is released."), field="reason", code="required")
    existing = Hold.objects.filter(pk=hold_id).values_list("status", flat=True).first()
    if existing is None:
        raise ValidationFailed(_("No such hold."), field="hold", code="unknown_hold")
    reauth = None

    def act() -> Hold:
        hold = lock(Hold, hold_id, "work_order")
        if hold.status != HoldStatus.ACTIVE:
            raise Conflict(_("This hold is released already."), code="hold_released")
        hold.status = HoldStatus.RELEASED
        hold.released_by = user
        hold.released_at = timezone.now()
        hold.release_reason = reason.strip()[:500]
        save(
            hold,
            user=user,
            reason=f"Hold released: {reason.strip()}",
            fields=["status", "released_by", "released_at", "release_reason"],
        )
        announce(hold)
        signature_sign(
            record=hold, signer=user, meaning=Meaning.RELEASED, reauth=reauth, comment=reason.strip()
        )
        order = hold.work_order
        still_held = Hold.objects.filter(work_order=order, status=HoldStatus.ACTIVE).exists()
        if order is not None and not still_held:
            order.refresh_from_db()
            if order.status == S.ON_HOLD:
                production.workorder_release_hold(
                    work_order_id=order.pk,
                    user=user,
                    key=uuid.uuid5(key, "order-release"),
                    reason=f"Quality hold released: {reason.strip()}"[:500],
                )
        return hold

    request_body = {"hold": hold_id, "reason": reason}
    # A retry of a release that went through needs no second password; another person's key is
    # refused before anyone is asked for one.
    if replayed(key, "hold_release", request_body, user=user) is None:
        reauth = signature_reauthenticate(
            signer=user, password=password, badge_number=badge_number, pin=pin, request=request
        )
    return run_once(key, "hold_release", request_body, act, user=user)


def active_holds_on(work_order_id: int):
    return Hold.objects.filter(work_order_id=work_order_id, status=HoldStatus.ACTIVE)
