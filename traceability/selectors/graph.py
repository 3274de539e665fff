"""Trace queries over the genealogy: backward (everything that went into a lot) and forward
(everything a lot went into), and the production context of every lot on the way.

Genealogy is a DAG (a lot has many parents and many children). Each direction is ONE recursive
query: the walk collects lot *ids* with `UNION` — not `UNION ALL`, which would enumerate every
path of the DAG and explode — so each lot is visited once, a cycle ends the walk instead of
looping, and there is no depth limit. The same statement returns the nodes (joined with their
product, site, order and the event that made them) and the edges between them. Depths are the
shortest distance from the traced lot, computed from the edges in Python (a depth column in the
walk would defeat the de-duplication).

The context (orders, operations, workstations, operators and times from the ledger, checklist
runs with their measurements, nonconformances, holds and signatures) is fetched for all nodes
at once by `trace_context`: a fixed handful of queries whatever the size of the trace, never a
query per node.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple

from django.db import connection
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from mes.errors import NotFound, ValidationFailed
from mes.models import Site
from mes.selectors import sites_visible_to
from quality.models import Hold
from quality.states import HoldStatus, HoldTarget
from workorders.models import (
    BomLine,
    GenealogyLink,
    Lot,
    Product,
    WorkOrder,
)

if TYPE_CHECKING:
    from traceability.selectors.context import TraceContext

BACKWARD = "backward"
FORWARD = "forward"
DIRECTIONS = (BACKWARD, FORWARD)


# --- the graph -----------------------------------------------------------------------------------


def _decimal(value) -> Decimal:
    if value is None:
        return Decimal("0")
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def _datetime(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value.astimezone(UTC) if isinstance(value, datetime) and value.tzinfo else value
    parsed = parse_datetime(str(value))
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # SQLite keeps UTC without an offset
    return parsed


def _column(index: int, convert=None) -> property:
    """A column of the node's row (see `trace_sql`), read by name; `convert` makes a database's
    NULL, 0/1 or text into the value callers expect."""
    if convert is None:

        def read(node):
            return node.row[index]
    else:

        def read(node):
            return convert(node.row[index])

    return property(read)


def _text(value) -> str:
    return value or ""


class TraceNode:
    """A lot or serial of a trace: the row the walk read, its columns read by name.

    A forward trace of a bulk lot has tens of thousands of nodes; each keeps the row as the
    database returned it and converts a column only when it is read, so building a trace costs
    little more than the query (most of a big trace's nodes are only counted or walked).
    """

    __slots__ = ("depth", "next_ids", "row", "visible")

    def __init__(self, row: tuple, visible: bool = True, next_ids: Sequence[int] = (), depth: int = 0):
        self.row = row
        self.visible = visible  # on a site the user may see; otherwise only its code is shown
        # The lots one step further in the trace's direction (parents backward, children forward),
        # one per link; the other direction is not needed to draw or walk a trace.
        self.next_ids = next_ids
        self.depth = depth  # the shortest distance from the traced lot

    id = _column(1)
    code = _column(2)
    kind = _column(3)
    status = _column(4)
    product_id = _column(5)
    part_number = _column(6)
    product_name = _column(7)
    gtin = _column(8, _text)
    unit = _column(9)
    site_id = _column(10)
    site_code = _column(11)
    work_order_id = _column(12)
    work_order_number = _column(13, _text)
    quantity = _column(14, _decimal)
    produced_raw = _column(15)  # parsed on use: a big trace needs few of its times
    supplier = _column(16, _text)
    supplier_lot = _column(17, _text)
    on_hold = _column(18, bool)  # an active hold on the lot or on the order that made it
    is_component = _column(19, bool)  # its product is a component in some BOM

    def __repr__(self) -> str:
        return f"TraceNode(id={self.id}, code={self.code!r}, depth={self.depth})"

    @property
    def finished(self) -> bool:
        """A finished good: its product goes into no other product."""
        return not self.row[19]

    @property
    def produced_at(self) -> datetime | None:
        """Made (the completion that made it), or received for a supplier lot."""
        return _datetime(self.row[15])


class TraceEdge(NamedTuple):
    parent_id: int
    child_id: int
    quantity: Decimal
    event_id: int


def _edge(row: tuple) -> TraceEdge:
    return TraceEdge(row[1], row[5], _decimal(row[14]), row[12])


@dataclass
class Trace:
    root: TraceNode
    direction: str
    nodes: dict[int, TraceNode]  # by lot id
    edge_rows: list[tuple]  # the link rows as read ('e', parent, ..., child, ..., event, _, quantity, ...)
    context: TraceContext | None = None

    @cached_property
    def edges(self) -> list[TraceEdge]:
        # Made on first use: a big trace's links are mostly only counted or walked.
        return [_edge(r) for r in self.edge_rows]

    def edges_in_order(self) -> Iterator[TraceEdge]:
        """The links by parent, child and event, made one at a time: an export of a big trace
        never holds them all as objects."""
        for row in sorted(self.edge_rows, key=lambda r: (r[1], r[5], r[12])):
            yield _edge(row)

    @property
    def ordered_nodes(self) -> list[TraceNode]:
        """The nodes by depth, then code."""
        return sorted(self.nodes.values(), key=lambda n: (n.depth, n.code))

    def next_of(self, node: TraceNode) -> list[TraceNode]:
        """The nodes one step further in the trace's direction, by code (once each, however many
        links lead there)."""
        nodes = self.nodes
        return sorted((nodes[i] for i in dict.fromkeys(node.next_ids) if i in nodes), key=lambda n: n.code)

    @property
    def affected(self) -> list[TraceNode]:
        """For a forward trace, the recall list: every lot or serial at the end of the trace
        (nothing has been made from it yet) — finished goods first. Empty for a backward trace."""
        if self.direction != FORWARD:
            return []
        leaves = [n for n in self.nodes.values() if not n.next_ids and n.id != self.root.id]
        return sorted(leaves, key=lambda n: (not n.finished, n.part_number, n.code))

    @property
    def max_depth(self) -> int:
        return max((n.depth for n in self.nodes.values()), default=0)


_TABLES = {
    "lot": Lot._meta.db_table,
    "link": GenealogyLink._meta.db_table,
    "product": Product._meta.db_table,
    "site": Site._meta.db_table,
    "order": WorkOrder._meta.db_table,
    "hold": Hold._meta.db_table,
    "bom": BomLine._meta.db_table,
}


def _walk_sql(direction: str) -> str:
    """The bare recursive walk: the ids of the lot and all its ancestors (or descendants)."""
    step_to, step_from = ("parent_id", "child_id") if direction == BACKWARD else ("child_id", "parent_id")
    return (
        f"WITH RECURSIVE walk(lot_id) AS ("
        f" SELECT CAST(%s AS BIGINT)"
        f" UNION"
        f" SELECT g.{step_to} FROM {_TABLES['link']} g JOIN walk w ON g.{step_from} = w.lot_id"
        f")"
    )


def bare_walk_sql(direction: str) -> str:
    """Only the walk and the links, as ids (a floor for the bench to compare with)."""
    step_from = "child_id" if direction == BACKWARD else "parent_id"
    return (
        f"{_walk_sql(direction)} SELECT walk.lot_id, NULL, NULL FROM walk"
        f" UNION ALL SELECT NULL, g.parent_id, g.child_id FROM {_TABLES['link']} g"
        f" JOIN walk w ON g.{step_from} = w.lot_id"
    )


def trace_sql(direction: str) -> tuple[str, list]:
    """The one statement a trace runs, and its parameters but the lot id (the first one).

    Node rows ('n') carry the lot; link rows ('e') reuse four of the columns for the link:
    parent in the lot id's column, child in the product's, the event in the order's and the
    quantity in the lot quantity's. Holds and BOM components are joined as small sets, not
    looked up per node.
    """
    t = _TABLES
    step_from = "child_id" if direction == BACKWARD else "parent_id"
    sql = f"""{_walk_sql(direction)}
SELECT 'n', l.id, l.code, l.kind, l.status, l.product_id, p.part_number, p.name, p.gtin, p.unit,
       l.site_id, s.code, l.work_order_id, wo.number, l.quantity, CAST(l.produced_at AS TEXT),
       l.supplier, l.supplier_lot,
       CASE WHEN hl.lot_code IS NOT NULL OR ho.work_order_id IS NOT NULL THEN 1 ELSE 0 END,
       CASE WHEN c.component_id IS NOT NULL THEN 1 ELSE 0 END
FROM walk
JOIN {t["lot"]} l ON l.id = walk.lot_id
JOIN {t["product"]} p ON p.id = l.product_id
JOIN {t["site"]} s ON s.id = l.site_id
LEFT JOIN {t["order"]} wo ON wo.id = l.work_order_id
LEFT JOIN (SELECT DISTINCT lot_code FROM {t["hold"]} WHERE status = %s AND target = %s) hl
       ON hl.lot_code = l.code
LEFT JOIN (SELECT DISTINCT work_order_id FROM {t["hold"]} WHERE status = %s AND work_order_id IS NOT NULL) ho
       ON ho.work_order_id = l.work_order_id
LEFT JOIN (SELECT DISTINCT component_id FROM {t["bom"]}) c ON c.component_id = l.product_id
UNION ALL
SELECT 'e', g.parent_id, NULL, NULL, NULL, g.child_id, NULL, NULL, NULL, NULL,
       NULL, NULL, g.event_id, NULL, g.quantity, NULL, NULL, NULL, NULL, NULL
FROM {t["link"]} g JOIN walk w ON g.{step_from} = w.lot_id"""
    return sql, [HoldStatus.ACTIVE, HoldTarget.LOT, HoldStatus.ACTIVE]


def walk(lot: Lot, direction: str, *, user=None) -> Trace:
    """The trace of `lot` in `direction` without its context: the nodes and links, in one query.
    With `user`, nodes on sites they may not see are marked not visible."""
    if direction not in DIRECTIONS:
        raise ValidationFailed(
            gettext("The direction is 'backward' or 'forward'."), field="direction", code="invalid_direction"
        )
    visible_sites = None if user is None else _visible_site_ids(user)
    sql, params = trace_sql(direction)
    # A big trace makes tens of thousands of objects at once (the rows, then the nodes): the
    # cyclic collector would walk them again and again meanwhile for nothing, as none of them is
    # garbage yet. It waits until the trace is built, which then goes to the oldest generation.
    collecting = gc.isenabled()
    gc.disable()
    rows: list[tuple] = []
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, [lot.pk, *params])
            rows = cursor.fetchall()
        # One pass over the rows, each read once (a big trace's rows no longer fit in the CPU's
        # caches): the node rows, the link rows, and the links grouped by the lot they step from.
        # A link row holds the parent in column 1 and the child in column 5; the walk steps from
        # the child to the parent backward, from the parent to the child forward.
        step_from, step_to = (5, 1) if direction == BACKWARD else (1, 5)
        node_rows: list[tuple] = []
        edges: list[tuple] = []
        next_of: dict[int, list[int]] = {}
        add_node, add_edge = node_rows.append, edges.append
        for row in rows:
            if row[0] == "n":
                add_node(row)
                continue
            add_edge(row)
            following = next_of.get(row[step_from])
            if following is None:
                next_of[row[step_from]] = [row[step_to]]
            else:
                following.append(row[step_to])
        depth = _depths(lot.pk, next_of)
        nodes = {
            row[1]: TraceNode(
                row,
                visible_sites is None or row[10] in visible_sites,
                next_of.get(row[1], ()),
                depth.get(row[1], 0),
            )
            for row in node_rows
        }
    finally:
        if collecting:
            if len(rows) >= LONG_LIVED_ROWS:
                _keep_long_lived()
            gc.enable()
    return Trace(root=nodes[lot.pk], direction=direction, nodes=nodes, edge_rows=edges)


# From this many rows, a trace's objects go straight to the collector's oldest generation.
LONG_LIVED_ROWS = 10_000


def _keep_long_lived() -> None:
    """Move every object the cyclic collector tracks to its oldest generation, unexamined.

    Without this, the young collections after a big trace is built would each walk all its rows
    and nodes (a fetch of 80,000 rows spends a fifth of its time in them, and the first
    collection after it some 20 ms) only to find they all live on, as long as the trace does. In
    the oldest generation they are examined once, by the next full collection, like any other
    long-lived object. Whatever young garbage there is goes there too, and is freed by that
    collection instead of a young one: hence only for big traces. Not done when objects were
    frozen before (by a server before it forks): unfreezing would release them too."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


def _depths(root_id: int, next_of: dict[int, list[int]]) -> dict[int, int]:
    """The shortest distance of every lot from the traced one, breadth first over the links."""
    depth = {root_id: 0}
    frontier = [root_id]
    level = 0
    while frontier:
        level += 1
        reached = []
        for lot_id in frontier:
            for nxt in next_of.get(lot_id, ()):
                if nxt not in depth:
                    depth[nxt] = level
                    reached.append(nxt)
        frontier = reached
    return depth


# --- finding what to trace -----------------------------------------------------------------------


def _visible_site_ids(user) -> set[int] | None:
    if user.is_superuser or getattr(user, "all_sites", False):
        return None
    return set(sites_visible_to(user).values_list("id", flat=True))


@dataclass
class Lookup:
    """What a search found: lots and serials, and the order when an order number was given."""

    query: str
    lots: list[Lot]
    work_order: WorkOrder | None = None


def trace_lookup(*, user, query: str) -> Lookup:
    """Find what to trace by serial, lot code, supplier lot or order number (an order gives its
    output lots), on the sites `user` may see.

    An unknown code and one on another site get the same answer, so a search does not reveal
    what exists elsewhere.
    """
    query = (query or "").strip()
    if not query:
        raise ValidationFailed(gettext("Enter a serial, lot or order number."), field="q", code="required")
    if len(query) > 64:
        raise ValidationFailed(gettext("A serial, lot or order number has at most 64 characters."), field="q")
    visible = sites_visible_to(user)
    lots = Lot.objects.select_related("product", "site", "work_order")
    found = list(lots.filter(code=query, site__in=visible))
    if found:
        return Lookup(query=query, lots=found)
    order = WorkOrder.objects.filter(number=query, line__site__in=visible).select_related("product").first()
    if order is not None:
        return Lookup(
            query=query, lots=list(lots.filter(work_order=order).order_by("code")), work_order=order
        )
    found = list(lots.filter(supplier_lot=query, site__in=visible).order_by("code")[:100])
    if found:
        return Lookup(query=query, lots=found)
    raise NotFound(
        gettext("No serial, lot or order '%(query)s' on the sites you may see.") % {"query": query},
        field="q",
        code="unknown_code",
    )


def lot_for_trace(*, user, code: str) -> Lot:
    """The lot or serial with this code, if `user` may see its site; else a clear 404."""
    code = (code or "").strip()
    if not code:
        raise ValidationFailed(gettext("Enter a serial or lot number."), field="code", code="required")
    lot = (
        Lot.objects.filter(code=code, site__in=sites_visible_to(user))
        .select_related("product", "site")
        .first()
    )
    if lot is None:
        raise NotFound(
            gettext("No serial or lot '%(code)s' on the sites you may see.") % {"code": code},
            field="code",
            code="unknown_code",
        )
    return lot
