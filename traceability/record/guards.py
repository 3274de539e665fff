"""The guard traceability registers on production (see `TraceabilityConfig.ready`):

- **released record before use**: at a site whose record settings require it
  (`RecordSettings.requires_record_release`), a lot or serial that an order made is consumed by a
  later order only once that order's production record is released. A received lot (no order
  made it) is not concerned.

The guard runs inside the consumption's locked transaction on every scan of a made lot, so it asks
one small query (the maker's number, the site's rule and the release, together) and none for a
received lot. It reads the review's status, not the record: assembling the record to check its
seal is far too slow for a scan; a broken seal is for the reviewer's page and
`verify_audit_trail` to show.

The same guard stands before shipping ("lot_ship", `traceability.shipping.lot_ship`), with two
more of shipping's own:

- **no shipping on hold**: a lot under an active quality hold, or made by an order under one,
  stays in the plant.
- **what shipped is gone**: a lot may ship in parts, and a consumption takes at most what is left
  of it after its shipments (one more small query per scan, on an indexed column).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, Sum
from django.utils.translation import gettext as _

from mes.errors import Conflict
from mes.hooks import register_guard
from quality.models import Hold
from quality.states import HoldStatus, HoldTarget
from traceability.models import RecordReview, RecordSettings, RecordStatus, Shipment
from workorders.models import Lot, WorkOrder
from workorders.states import LotKind


class RecordNotReleased(Conflict):
    def __init__(self, lot: Lot, order_number: str):
        if lot.kind == LotKind.SERIAL:
            message = _("Serial %(lot)s (made by order %(order)s): its production record is not released.")
        else:
            message = _("Lot %(lot)s (made by order %(order)s): its production record is not released.")
        super().__init__(
            message % {"lot": lot.code, "order": order_number},
            field="lot",
            code="record_not_released",
        )


def made_lot_released(*, lot: Lot, **context) -> None:
    """Refuse a made lot whose maker's record is not released, where the site asks for it."""
    if lot.work_order_id is None:
        return
    row = (
        WorkOrder.objects.filter(pk=lot.work_order_id)
        .annotate(
            required=Exists(RecordSettings.objects.filter(site_id=lot.site_id, requires_record_release=True)),
            released=Exists(
                RecordReview.objects.filter(work_order_id=OuterRef("pk"), status=RecordStatus.RELEASED)
            ),
        )
        .values_list("number", "required", "released")
        .first()
    )
    if row is None:
        return
    number, required, released = row
    if required and not released:
        raise RecordNotReleased(lot, number)


def no_shipping_on_hold(*, lot: Lot, **context) -> None:
    """Refuse shipping a lot on quality hold, or one its maker's order is held for."""
    held = Q(target=HoldTarget.LOT, lot_code=lot.code)
    if lot.work_order_id is not None:
        held |= Q(target=HoldTarget.WORK_ORDER, work_order_id=lot.work_order_id)
    reason = Hold.objects.filter(held, status=HoldStatus.ACTIVE).values_list("reason", flat=True).first()
    if reason is not None:
        raise Conflict(
            _("Lot %(lot)s is on quality hold (%(reason)s): it cannot be shipped.")
            % {"lot": lot.code, "reason": reason},
            field="lot",
            code="lot_held",
        )


def shipped_quantity_left(*, lot: Lot, quantity, **context) -> None:
    """Refuse consuming more of a partly shipped lot than is left after its shipments."""
    shipped = Shipment.objects.filter(lot_id=lot.pk).aggregate(total=Sum("quantity"))["total"]
    if shipped and quantity > lot.quantity_left - shipped:
        left = max(lot.quantity_left - shipped, 0)
        raise Conflict(
            _("Only %(left)s %(unit)s of lot %(lot)s is left: the rest shipped.")
            % {"left": f"{left.normalize():f}", "unit": lot.product.unit, "lot": lot.code},
            field="quantity",
            code="over_lot_quantity",
        )


def register() -> None:
    register_guard("operation_consume", made_lot_released)
    register_guard("operation_consume", shipped_quantity_left)
    register_guard("lot_ship", made_lot_released)
    register_guard("lot_ship", no_shipping_on_hold)
