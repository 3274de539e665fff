"""Material consumed at an operation: a component lot scanned at the workstation.

One consume event, the consumption row, the lot's new rest and, for a lot-tracked product, the
genealogy link to the order's output lot, in one transaction and once per idempotency key.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _

from mes import hooks
from mes.errors import Conflict, ValidationFailed
from mes.idempotency import amount
from mes.models import User, Workstation
from workorders.models import BomLine, Consumption, Lot, ProductionEvent, WorkOrder
from workorders.services import lots
from workorders.services.events import append_event, clean_occurred_at, clean_quantity
from workorders.services.idempotency import Recorded, run_once
from workorders.services.operations import load_operation, touch_operation
from workorders.states import EventKind, LotStatus, OperationStatus, Tracking


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
            _("Order %(number)s has all the %(part_number)s it needs; enter the quantity to consume more.")
            % {"number": work_order.number, "part_number": lot.product.part_number},
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
        raise ValidationFailed(_("Scan or type the lot number."), field="lot", code="required")

    def act(fp: str) -> ProductionEvent:
        work_order, operation = load_operation(operation_id, workstation)
        if operation.status not in (OperationStatus.RUNNING, OperationStatus.PAUSED):
            raise Conflict(
                _("Start the operation before consuming material."), field="operation", code="not_started"
            )
        lot = Lot.objects.select_for_update(of=("self",)).select_related("product").filter(code=code).first()
        if lot is None:
            raise ValidationFailed(
                _("There is no lot %(code)s.") % {"code": code}, field="lot", code="unknown_lot"
            )
        product = work_order.product
        if lot.site_id != work_order.line.site_id:
            raise ValidationFailed(
                _("Lot %(code)s is at another site.") % {"code": code}, field="lot", code="lot_other_site"
            )
        bom = BomLine.objects.filter(product=product, component=lot.product).first()
        if bom is None:
            raise ValidationFailed(
                _(
                    "Lot %(code)s is of part %(part_number)s, which is not in the bill of materials of %(part_number2)s."
                )
                % {"code": code, "part_number": lot.product.part_number, "part_number2": product.part_number},
                field="lot",
                code="not_in_bom",
            )
        if lot.status != LotStatus.AVAILABLE:
            raise Conflict(
                _("Lot %(code)s is %(status)s: nothing of it can be consumed.")
                % {"code": code, "status": lot.get_status_display().lower()},
                field="lot",
                code="lot_not_available",
            )
        qty = _consume_quantity(quantity, lot=lot, bom=bom, work_order=work_order)
        left = lot.quantity_left
        if qty > left:
            raise Conflict(
                _("Only %(left)s %(unit)s of lot %(code)s is left.")
                % {"left": format(left.normalize(), "f"), "unit": lot.product.unit, "code": code},
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
        touch_operation(operation, at)
        return event

    request = {
        "action": "consume",
        "operation": operation_id,
        "workstation": workstation.pk,
        "lot": code,
        "quantity": amount(quantity),
    }
    return run_once(key, request, act, user=user)
