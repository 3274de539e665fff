"""One entry point for edges that record production from a request body (API, tablet, MQTT)."""

from __future__ import annotations

from mes.models import User, Workstation
from workorders.services.consumption import operation_consume
from workorders.services.downtime import downtime_end, downtime_start
from workorders.services.idempotency import Recorded
from workorders.services.operations import (
    operation_pause,
    operation_record_good,
    operation_record_scrap,
    operation_resume,
    operation_start,
)
from workorders.states import EventKind


def event_record(*, user: User, workstation: Workstation, data: dict) -> Recorded:
    """Record one production event described by a request body (the API's and the tablet's).

    `data` holds `kind`, `idempotency_key` (a UUID) and the fields that kind needs: `operation`,
    `quantity`, `reason` (a code), `lot` (for consume), `note`, `occurred_at`, `override` (the caller allows more than
    the remaining quantity, which needs the permission).
    """
    kind = data["kind"]
    common = {"user": user, "key": data["idempotency_key"], "occurred_at": data.get("occurred_at")}
    if kind in (EventKind.DOWNTIME_START, EventKind.DOWNTIME_END):
        if kind == EventKind.DOWNTIME_START:
            return downtime_start(
                workstation=workstation, reason=data["reason"], note=data.get("note", ""), **common
            )
        return downtime_end(workstation=workstation, **common)
    op = {"operation_id": data["operation"], "workstation": workstation, **common}
    if kind == EventKind.START:
        return operation_start(**op)
    if kind == EventKind.PAUSE:
        return operation_pause(reason=data["reason"], note=data.get("note", ""), **op)
    if kind == EventKind.RESUME:
        return operation_resume(**op)
    if kind == EventKind.CONSUME:
        return operation_consume(lot_code=data["lot"], quantity=data.get("quantity") or None, **op)
    if kind == EventKind.GOOD:
        override_by = user if data.get("override") else None
        return operation_record_good(quantity=data["quantity"], override_by=override_by, **op)
    return operation_record_scrap(
        quantity=data["quantity"], reason=data["reason"], note=data.get("note", ""), **op
    )
