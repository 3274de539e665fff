"""Trace queries over the genealogy and the context of every lot on the way.

- `graph`: the backward and forward walks (one recursive query per direction) and finding what
  to trace;
- `context`: the production context of all nodes of a trace, in bulk;
- `data`: a trace as plain data and its content hash, for the exports and the API;
- `traces`: a trace as callers ask for it, the walk with its context when they want it;
- `shipments`: what of a lot left the plant, to whom.
"""

from traceability.selectors.context import TraceContext, trace_context
from traceability.selectors.data import (
    affected_data,
    canonical_json,
    links_data,
    node_data,
    nodes_data,
    quantity_text,
    trace_content_hash,
    trace_data,
    trace_hash,
)
from traceability.selectors.graph import (
    BACKWARD,
    DIRECTIONS,
    FORWARD,
    Lookup,
    Trace,
    TraceEdge,
    TraceNode,
    bare_walk_sql,
    lot_for_trace,
    trace_lookup,
    trace_sql,
    walk,
)
from traceability.selectors.shipments import lot_shipments
from traceability.selectors.traces import trace, trace_backward, trace_forward

__all__ = [
    "BACKWARD",
    "DIRECTIONS",
    "FORWARD",
    "Lookup",
    "Trace",
    "TraceContext",
    "TraceEdge",
    "TraceNode",
    "affected_data",
    "bare_walk_sql",
    "canonical_json",
    "links_data",
    "lot_for_trace",
    "lot_shipments",
    "node_data",
    "nodes_data",
    "quantity_text",
    "trace",
    "trace_backward",
    "trace_content_hash",
    "trace_context",
    "trace_data",
    "trace_forward",
    "trace_hash",
    "trace_lookup",
    "trace_sql",
    "walk",
]
