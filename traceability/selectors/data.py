"""A trace as plain data (for the JSON and CSV exports and the API) and its content hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
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


def nodes_data(trace: Trace) -> Iterator[dict]:
    """The trace's nodes as data, one at a time, by depth then code (`trace_data`'s "nodes")."""
    context = trace.context
    for node in trace.ordered_nodes:
        yield node_data(node, context)


def links_data(trace: Trace) -> Iterator[dict]:
    """The trace's links as data, one at a time, by parent, child and event (`trace_data`'s
    "links")."""
    codes = {node.id: node.code for node in trace.nodes.values()}
    for edge in trace.edges_in_order():
        yield {
            "parent": codes.get(edge.parent_id, str(edge.parent_id)),
            "child": codes.get(edge.child_id, str(edge.child_id)),
            "quantity": quantity_text(edge.quantity),
            "event": edge.event_id,
        }


def affected_data(trace: Trace) -> Iterator[dict]:
    """A forward trace's recall list as data, one unit at a time (`trace_data`'s "affected")."""
    for n in trace.affected:
        yield {
            "lot": n.code,
            "kind": n.kind,
            "product": n.part_number,
            "status": n.status,
            "on_hold": n.on_hold,
            "finished": n.finished,
            "site": n.site_code,
        }


def _data_parts(trace: Trace) -> dict:
    """`trace_data`'s keys, with its lists still to be made (iterators)."""
    parts = {
        "lot": trace.root.code,
        "direction": trace.direction,
        "nodes": nodes_data(trace),
        "links": links_data(trace),
    }
    if trace.direction == FORWARD:
        parts["affected"] = affected_data(trace)
    return parts


def trace_data(trace: Trace) -> dict:
    """The trace as plain JSON-ready data (the content every export is made of)."""
    return {
        key: list(value) if isinstance(value, Iterator) else value
        for key, value in _data_parts(trace).items()
    }


def canonical_json(data: object) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def trace_hash(data: dict) -> str:
    """SHA-256 of the canonical JSON of a trace's data: the same data gives the same hash."""
    return _canonical_hash(data)


def trace_content_hash(trace: Trace) -> str:
    """`trace_hash(trace_data(trace))`, without ever holding the whole data or its JSON: each
    node, link and affected unit is made, hashed and dropped in turn. A report that needs only
    the hash and one node at a time (the PDF) keeps a big trace's memory at the size of the
    trace, not of its data and its text as well."""
    return _canonical_hash(_data_parts(trace))


def _canonical_hash(data: object) -> str:
    """SHA-256 of `canonical_json(data)`, written piece by piece: a dict's values that are lists,
    or iterators standing for them, are written an item at a time, in the order and with the
    separators `canonical_json` gives them (keys sorted, no spaces)."""
    digest = hashlib.sha256()
    if not isinstance(data, dict):
        digest.update(canonical_json(data).encode())
        return digest.hexdigest()
    for index, key in enumerate(sorted(data)):
        digest.update((("," if index else "{") + canonical_json(key) + ":").encode())
        value = data[key]
        if isinstance(value, list | Iterator):
            separator = "["
            for item in value:
                digest.update((separator + canonical_json(item)).encode())
                separator = ","
            digest.update(b"[]" if separator == "[" else b"]")
        else:
            digest.update(canonical_json(value).encode())
    digest.update(b"}")
    return digest.hexdigest()
