"""From ledger events to ERP messages: which events the ERP hears of, and the mapped payload.

The payload is in the ERP's terms: its material number (our part number), unit, plant (our site
code), order number and operation sequence. It is built once, in the event's transaction, and
never rebuilt: a retry sends exactly what the first attempt sent.
"""

from __future__ import annotations

import uuid

from integration.states import MessageType
from workorders.models import Lot, ProductionEvent, WorkOrder
from workorders.states import EventKind

# Ledger event kind -> message type.
MESSAGE_TYPE_OF_EVENT: dict[str, str] = {
    EventKind.GOOD: MessageType.GOOD,
    EventKind.SCRAP: MessageType.SCRAP,
    EventKind.CONSUME: MessageType.CONSUMPTION,
    EventKind.ORDER_STATUS: MessageType.ORDER_STATUS,
}


def message_key(event: ProductionEvent, message_type: str) -> uuid.UUID:
    """The message's idempotency key: derived from the event's, so it is stable forever."""
    return uuid.uuid5(event.idempotency_key, f"erp-outbox:{message_type}")


def _decimal(value) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def build_payload(
    *, event: ProductionEvent, work_order: WorkOrder, message_type: str, sequence: int, plant: str
) -> dict:
    product = work_order.product
    operation = event.operation
    payload: dict = {
        "message_type": message_type,
        "idempotency_key": str(message_key(event, message_type)),
        "sequence": sequence,
        "plant": plant,
        "order_number": work_order.number,
        "material": product.part_number,
        "unit": product.unit,
        "occurred_at": event.occurred_at.isoformat(),
        "event_id": event.pk,
        "operation": None,
        "quantity": _decimal(event.quantity),
        "reason": None,
        "status": None,
    }
    if operation is not None:
        payload["operation"] = {
            "sequence": operation.sequence,
            "name": operation.name,
            "workstation": event.workstation.code if event.workstation_id else "",
            # The ERP books yield from the last operation; the routing was copied at release.
            "last": operation.is_last,
        }
    if event.reason_id:
        payload["reason"] = {"code": event.reason.code, "name": event.reason.name}
    if message_type == MessageType.ORDER_STATUS:
        payload["status"] = {"from": event.data.get("from"), "to": event.data.get("to")}
    if message_type == MessageType.CONSUMPTION:
        # The ERP books the component out of stock: its material, unit and lot, not the order's.
        lot = Lot.objects.select_related("product").get(code=event.data["lot"])
        payload.update(material=lot.product.part_number, unit=lot.product.unit, lot=lot.code)
        if lot.supplier_lot:
            payload["supplier_lot"] = lot.supplier_lot
    return payload
