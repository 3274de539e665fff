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

There is no shipping action yet; when one comes, it registers this guard too ("lot_ship").
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from mes.errors import Conflict
from mes.hooks import register_guard
from traceability.models import RecordReview, RecordSettings, RecordStatus
from workorders.models import Lot, WorkOrder
from workorders.states import LotKind


class RecordNotReleased(Conflict):
    def __init__(self, lot: Lot, order_number: str):
        what = "Serial" if lot.kind == LotKind.SERIAL else "Lot"
        super().__init__(
            f"{what} {lot.code} (made by order {order_number}): its production record is not released.",
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


def register() -> None:
    register_guard("operation_consume", made_lot_released)
