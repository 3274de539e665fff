"""A trace as plain data (for the JSON and CSV exports and the API) and its content hash."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal

from mes.signatures import Manifestation
from traceability.selectors.context import HoldContext, NonconformanceContext, OrderContext, TraceContext
from traceability.selectors.graph import FORWARD, Trace, TraceNode

# --- the trace as data ---------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def quantity_text(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return text


def _manifestations(items: list[Manifestation]) -> list[dict]:
    return [
        {
            "printed_name": m.printed_name,
            "meaning": m.meaning,
            "signed_at": _iso(m.signed_at),
            "method": m.method,
            "intact": m.intact,
            "comment": m.comment,
            "text": str(m),
        }
        for m in items
    ]


def _order_data(order: OrderContext) -> dict:
    return {
        "number": order.number,
        "status": order.status,
        "line": order.line,
        "quantity": quantity_text(order.quantity),
        "started_at": _iso(order.started_at),
        "completed_at": _iso(order.completed_at),
        "operations": [
            {
                "sequence": op.sequence,
                "name": op.name,
                "workstation": op.workstation,
                "status": op.status,
                "started_at": _iso(op.started_at),
                "ended_at": _iso(op.ended_at),
                "operators": [
                    {
                        "name": w.name,
                        "first_at": _iso(w.first_at),
                        "last_at": _iso(w.last_at),
                        "good": quantity_text(w.good),
                        "scrap": quantity_text(w.scrap),
                        "events": w.events,
                    }
                    for w in op.operators
                ],
            }
            for op in order.operations
        ],
        "checklist_runs": [
            {
                "template": r.template,
                "title": r.title,
                "version": r.version,
                "status": r.status,
                "operation": r.operation_sequence,
                "workstation": r.workstation,
                "completed_by": r.completed_by,
                "completed_at": _iso(r.completed_at),
                "responses": [
                    {
                        "prompt": m.prompt,
                        "value": m.value,
                        "in_spec": m.in_spec,
                        "lsl": quantity_text(m.lsl),
                        "usl": quantity_text(m.usl),
                        "recorded_by": m.recorded_by,
                        "recorded_at": _iso(m.recorded_at),
                        "corrected": m.corrected,
                    }
                    for m in r.responses
                ],
                "signatures": _manifestations(r.signatures),
            }
            for r in order.runs
        ],
        "nonconformances": [_nc_data(nc) for nc in order.nonconformances],
        "holds": [_hold_data(h) for h in order.holds],
        "signatures": _manifestations(order.signatures),
    }


def _nc_data(nc: NonconformanceContext) -> dict:
    return {
        "number": nc.number,
        "title": nc.title,
        "status": nc.status,
        "disposition": nc.disposition,
        "opened_at": _iso(nc.opened_at),
        "lot": nc.lot_code,
        "signatures": _manifestations(nc.signatures),
    }


def _hold_data(hold: HoldContext) -> dict:
    return {
        "target": hold.target,
        "status": hold.status,
        "reason": hold.reason,
        "placed_by": hold.placed_by,
        "placed_at": _iso(hold.placed_at),
        "released_at": _iso(hold.released_at),
        "lot": hold.lot_code,
        "signatures": _manifestations(hold.signatures),
    }


def node_data(node: TraceNode, context: TraceContext | None = None) -> dict:
    if not node.visible:
        return {"lot": node.code, "depth": node.depth, "visible": False, "site": node.site_code}
    data = {
        "lot": node.code,
        "kind": node.kind,
        "product": node.part_number,
        "product_name": node.product_name,
        "gtin": node.gtin,
        "site": node.site_code,
        "status": node.status,
        "on_hold": node.on_hold,
        "finished": node.finished,
        "quantity": quantity_text(node.quantity),
        "unit": node.unit,
        "produced_at": _iso(node.produced_at),
        "work_order": node.work_order_number or None,
        "supplier": node.supplier,
        "supplier_lot": node.supplier_lot,
        "depth": node.depth,
        "visible": True,
    }
    if context is not None:
        ctx = context.for_node(node)
        data["made_by"] = ctx.made_by
        data["made_at"] = _iso(ctx.made_at)
        data["order"] = _order_data(ctx.order) if ctx.order else None
        data["nonconformances"] = [_nc_data(nc) for nc in ctx.nonconformances]
        data["holds"] = [_hold_data(h) for h in ctx.holds]
        data["signatures"] = _manifestations(ctx.signatures)
    return data


def trace_data(trace: Trace) -> dict:
    """The trace as plain JSON-ready data (the content every export is made of)."""
    context = trace.context
    codes = {n.id: n.code for n in trace.nodes.values()}
    edges = sorted(trace.edges, key=lambda e: (e.parent_id, e.child_id, e.event_id))
    data = {
        "lot": trace.root.code,
        "direction": trace.direction,
        "nodes": [node_data(n, context) for n in trace.ordered_nodes],
        "links": [
            {
                "parent": codes.get(e.parent_id, str(e.parent_id)),
                "child": codes.get(e.child_id, str(e.child_id)),
                "quantity": quantity_text(e.quantity),
                "event": e.event_id,
            }
            for e in edges
        ],
    }
    if trace.direction == FORWARD:
        data["affected"] = [
            {
                "lot": n.code,
                "kind": n.kind,
                "product": n.part_number,
                "status": n.status,
                "on_hold": n.on_hold,
                "finished": n.finished,
                "site": n.site_code,
            }
            for n in trace.affected
        ]
    return data


def canonical_json(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def trace_hash(data: dict) -> str:
    """SHA-256 of the canonical JSON of a trace's data: the same data gives the same hash."""
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()
