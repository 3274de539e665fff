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

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from typing import NamedTuple

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Count, Max, Min, Q, Sum
from django.utils.dateparse import parse_datetime

from mes.errors import NotFound, ValidationFailed
from mes.models import Site
from mes.selectors import sites_visible_to
from mes.signatures import Manifestation, Meaning, Method, Signature, content_hash
from quality.models import ChecklistResponse, ChecklistRun, Hold, Nonconformance
from quality.states import HoldStatus, HoldTarget
from workorders.models import (
    BomLine,
    GenealogyLink,
    Lot,
    Product,
    ProductionEvent,
    WorkOrder,
    WorkOrderOperation,
)
from workorders.states import EventKind

BACKWARD = "backward"
FORWARD = "forward"
DIRECTIONS = (BACKWARD, FORWARD)


# --- the graph -----------------------------------------------------------------------------------


@dataclass(slots=True)
class TraceNode:
    id: int
    code: str
    kind: str
    status: str
    product_id: int
    part_number: str
    product_name: str
    gtin: str
    unit: str
    site_id: int
    site_code: str
    work_order_id: int | None
    work_order_number: str
    quantity: Decimal
    produced_raw: object  # parsed on use: a big trace needs few of its times
    supplier: str
    supplier_lot: str
    on_hold: bool  # an active hold on the lot or on the order that made it
    is_component: bool  # its product is a component in some BOM
    visible: bool = True  # on a site the user may see; otherwise only its code is shown
    depth: int = 0
    parents: list[int] = field(default_factory=list)
    children: list[int] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """A finished good: its product goes into no other product."""
        return not self.is_component

    @property
    def produced_at(self) -> datetime | None:
        """Made (the completion that made it), or received for a supplier lot."""
        return _datetime(self.produced_raw)


class TraceEdge(NamedTuple):
    parent_id: int
    child_id: int
    quantity: Decimal
    event_id: int


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
        return [TraceEdge(r[1], r[5], _decimal(r[14]), r[12]) for r in self.edge_rows]

    @property
    def ordered_nodes(self) -> list[TraceNode]:
        """The nodes by depth, then code."""
        return sorted(self.nodes.values(), key=lambda n: (n.depth, n.code))

    def next_of(self, node: TraceNode) -> list[TraceNode]:
        """The nodes one step further in the trace's direction, by code."""
        ids = node.parents if self.direction == BACKWARD else node.children
        return sorted((self.nodes[i] for i in ids if i in self.nodes), key=lambda n: n.code)

    @property
    def affected(self) -> list[TraceNode]:
        """For a forward trace, the recall list: every lot or serial at the end of the trace
        (nothing has been made from it yet) — finished goods first. Empty for a backward trace."""
        if self.direction != FORWARD:
            return []
        leaves = [n for n in self.nodes.values() if not n.children and n.id != self.root.id]
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


def _trace(lot: Lot, direction: str, *, user=None, context: bool = False) -> Trace:
    if direction not in DIRECTIONS:
        raise ValidationFailed(
            "The direction is 'backward' or 'forward'.", field="direction", code="invalid_direction"
        )
    sql, params = trace_sql(direction)
    with connection.cursor() as cursor:
        cursor.execute(sql, [lot.pk, *params])
        rows = cursor.fetchall()
    visible_sites = None if user is None else _visible_site_ids(user)
    nodes: dict[int, TraceNode] = {}
    edges: list[tuple] = []
    for row in rows:
        if row[0] == "e":
            edges.append(row)
            continue
        nodes[row[1]] = TraceNode(
            row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8] or "", row[9], row[10], row[11],
            row[12], row[13] or "", _decimal(row[14]), row[15], row[16] or "", row[17] or "", bool(row[18]),
            bool(row[19]), visible_sites is None or row[10] in visible_sites,
        )  # fmt: skip
    for edge in edges:
        parent_id, child_id = edge[1], edge[5]
        child, parent = nodes.get(child_id), nodes.get(parent_id)
        if child is not None and parent_id not in child.parents:
            child.parents.append(parent_id)
        if parent is not None and child_id not in parent.children:
            parent.children.append(child_id)
    # Shortest distance from the traced lot, breadth first over the edges just read.
    root = nodes[lot.pk]
    seen = {lot.pk}
    frontier = [root]
    level = 0
    backward = direction == BACKWARD
    while frontier:
        following = []
        for node in frontier:
            node.depth = level
            for nxt in node.parents if backward else node.children:
                if nxt not in seen:
                    seen.add(nxt)
                    following.append(nodes[nxt])
        frontier = following
        level += 1
    trace = Trace(root=root, direction=direction, nodes=nodes, edge_rows=edges)
    if context:
        trace.context = trace_context(trace)
    return trace


def trace_backward(lot: Lot, *, user=None, context: bool = False) -> Trace:
    """Everything that went into `lot`: all its ancestors and the links between them, in one
    query. With `user`, nodes on sites they may not see are marked not visible. With `context`,
    the production context of every node too (a fixed number of further queries)."""
    return _trace(lot, BACKWARD, user=user, context=context)


def trace_forward(lot: Lot, *, user=None, context: bool = False) -> Trace:
    """Everything `lot` went into: all its descendants and the links between them, in one
    query; `Trace.affected` is the recall list (the lots and serials at the end)."""
    return _trace(lot, FORWARD, user=user, context=context)


def trace(lot: Lot, direction: str, *, user=None, context: bool = False) -> Trace:
    return _trace(lot, direction, user=user, context=context)


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
        raise ValidationFailed("Enter a serial, lot or order number.", field="q", code="required")
    if len(query) > 64:
        raise ValidationFailed("A serial, lot or order number has at most 64 characters.", field="q")
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
        f"No serial, lot or order '{query}' on the sites you may see.", field="q", code="unknown_code"
    )


def lot_for_trace(*, user, code: str) -> Lot:
    """The lot or serial with this code, if `user` may see its site; else a clear 404."""
    code = (code or "").strip()
    if not code:
        raise ValidationFailed("Enter a serial or lot number.", field="code", code="required")
    lot = (
        Lot.objects.filter(code=code, site__in=sites_visible_to(user))
        .select_related("product", "site")
        .first()
    )
    if lot is None:
        raise NotFound(
            f"No serial or lot '{code}' on the sites you may see.", field="code", code="unknown_code"
        )
    return lot


# --- the context of every node, in bulk ----------------------------------------------------------


@dataclass
class OperatorWork:
    name: str
    first_at: datetime | None
    last_at: datetime | None
    good: Decimal
    scrap: Decimal
    events: int


@dataclass
class OperationContext:
    id: int
    sequence: int
    name: str
    workstation: str
    status: str
    operators: list[OperatorWork] = field(default_factory=list)

    @property
    def started_at(self) -> datetime | None:
        return min((o.first_at for o in self.operators if o.first_at), default=None)

    @property
    def ended_at(self) -> datetime | None:
        return max((o.last_at for o in self.operators if o.last_at), default=None)


@dataclass
class Measurement:
    prompt: str
    value: str
    unit: str
    in_spec: bool | None
    lsl: Decimal | None
    usl: Decimal | None
    recorded_by: str
    recorded_at: datetime | None
    corrected: bool = False


@dataclass
class RunContext:
    id: int
    template: str
    title: str
    version: int
    status: str
    operation_sequence: int | None
    workstation: str
    completed_by: str
    completed_at: datetime | None
    responses: list[Measurement] = field(default_factory=list)
    signatures: list[Manifestation] = field(default_factory=list)


@dataclass
class NonconformanceContext:
    id: int
    number: str
    title: str
    status: str
    disposition: str
    opened_at: datetime | None
    lot_code: str
    signatures: list[Manifestation] = field(default_factory=list)


@dataclass
class HoldContext:
    id: int
    target: str
    status: str
    reason: str
    placed_by: str
    placed_at: datetime | None
    released_at: datetime | None
    lot_code: str
    signatures: list[Manifestation] = field(default_factory=list)


@dataclass
class OrderContext:
    id: int
    number: str
    status: str
    line: str
    quantity: Decimal
    started_at: datetime | None
    completed_at: datetime | None
    operations: list[OperationContext] = field(default_factory=list)
    runs: list[RunContext] = field(default_factory=list)
    nonconformances: list[NonconformanceContext] = field(default_factory=list)
    holds: list[HoldContext] = field(default_factory=list)
    signatures: list[Manifestation] = field(default_factory=list)


@dataclass
class NodeContext:
    order: OrderContext | None
    nonconformances: list[NonconformanceContext]
    holds: list[HoldContext]
    signatures: list[Manifestation]
    made_by: str = ""
    made_at: datetime | None = None

    @property
    def record_count(self) -> int:
        order = self.order
        count = len(self.nonconformances) + len(self.holds) + len(self.signatures)
        if order is not None:
            count += 1 + len(order.operations) + len(order.nonconformances) + len(order.holds)
            count += sum(1 + len(r.responses) for r in order.runs)
        return count


@dataclass
class TraceContext:
    orders: dict[int, OrderContext]
    lot_nonconformances: dict[str, list[NonconformanceContext]]
    lot_holds: dict[str, list[HoldContext]]
    lot_signatures: dict[int, list[Manifestation]]
    made: dict[int, tuple[str, datetime]] = field(default_factory=dict)  # by lot: who made it, when

    def for_node(self, node: TraceNode) -> NodeContext:
        if not node.visible:
            return NodeContext(order=None, nonconformances=[], holds=[], signatures=[])
        made_by, made_at = self.made.get(node.id, ("", None))
        return NodeContext(
            made_by=made_by,
            made_at=made_at,
            order=self.orders.get(node.work_order_id) if node.work_order_id else None,
            nonconformances=self.lot_nonconformances.get(node.code, []),
            holds=self.lot_holds.get(node.code, []),
            signatures=self.lot_signatures.get(node.id, []),
        )


def _person(user) -> str:
    return user.printed_name if user is not None else ""


class _Signed:
    """A record whose signed content was built from rows already fetched (a run and its
    responses), so checking its signatures costs no query per record."""

    def __init__(self, record, content: dict):
        self._meta = record._meta
        self.pk = record.pk
        self._content = content

    def signature_content(self) -> dict:
        return self._content


def trace_context(trace: Trace) -> TraceContext:
    """The production context of every visible node of `trace`, in a fixed number of queries:
    orders, operations, the ledger summarised per operation and operator, checklist runs,
    their responses, nonconformances, holds and signatures (plus content types, cached)."""
    visible = [n for n in trace.nodes.values() if n.visible]
    order_ids = sorted({n.work_order_id for n in visible if n.work_order_id})
    codes = sorted({n.code for n in visible})
    lot_ids = sorted(n.id for n in visible)

    orders = {
        o.pk: OrderContext(
            id=o.pk,
            number=o.number,
            status=o.get_status_display(),
            line=o.line.code,
            quantity=o.quantity,
            started_at=o.started_at,
            completed_at=o.completed_at,
        )
        for o in WorkOrder.objects.filter(pk__in=order_ids).select_related("line")
    }
    order_records = {o: None for o in orders}
    operations: dict[int, OperationContext] = {}
    for op in (
        WorkOrderOperation.objects.filter(work_order_id__in=order_ids)
        .select_related("workstation")
        .order_by("work_order_id", "sequence")
    ):
        ctx = OperationContext(
            id=op.pk,
            sequence=op.sequence,
            name=op.name,
            workstation=op.workstation.code,
            status=op.get_status_display(),
        )
        operations[op.pk] = ctx
        orders[op.work_order_id].operations.append(ctx)
    # Who worked each operation and when, summarised in the database from the ledger.
    work = (
        ProductionEvent.objects.filter(work_order_id__in=order_ids, operation__isnull=False)
        .values("operation_id", "user__username", "user__first_name", "user__last_name")
        .annotate(
            first_at=Min("occurred_at"),
            last_at=Max("occurred_at"),
            good=Sum("quantity", filter=Q(kind=EventKind.COMPLETE)),
            scrap=Sum("quantity", filter=Q(kind=EventKind.SCRAP)),
            events=Count("id"),
        )
        .order_by("operation_id", "first_at")
    )
    for row in work:
        name = f"{row['user__first_name']} {row['user__last_name']}".strip() or row["user__username"]
        op_ctx = operations.get(row["operation_id"])
        if op_ctx is not None:
            op_ctx.operators.append(
                OperatorWork(
                    name=name,
                    first_at=row["first_at"],
                    last_at=row["last_at"],
                    good=row["good"] or Decimal("0"),
                    scrap=row["scrap"] or Decimal("0"),
                    events=row["events"],
                )
            )

    runs = list(
        ChecklistRun.objects.filter(work_order_id__in=order_ids)
        .select_related("template", "version", "operation", "workstation", "completed_by")
        .order_by("started_at", "pk")
    )
    responses = list(
        ChecklistResponse.objects.filter(run__work_order_id__in=order_ids)
        .select_related("item", "recorded_by")
        .order_by("run_id", "pk")
    )
    by_run: dict[int, list[ChecklistResponse]] = defaultdict(list)
    for response in responses:
        by_run[response.run_id].append(response)
    superseded = {r.supersedes_id for r in responses if r.supersedes_id}

    ncs = list(
        Nonconformance.objects.filter(Q(work_order_id__in=order_ids) | Q(lot_code__in=codes)).order_by(
            "opened_at", "pk"
        )
    )
    holds = list(
        Hold.objects.filter(Q(work_order_id__in=order_ids) | Q(target=HoldTarget.LOT, lot_code__in=codes))
        .select_related("placed_by")
        .order_by("placed_at", "pk")
    )

    # Every signature on those records, in one query.
    models_ = [ChecklistRun, Nonconformance, Hold, WorkOrder, Lot]
    types = ContentType.objects.get_for_models(*models_, for_concrete_models=True)
    wanted = {
        ChecklistRun: [str(r.pk) for r in runs],
        Nonconformance: [str(n.pk) for n in ncs],
        Hold: [str(h.pk) for h in holds],
        WorkOrder: [str(o) for o in order_records],
        Lot: [str(i) for i in lot_ids],
    }
    condition = Q(pk__in=[])
    for model, ids in wanted.items():
        if ids:
            condition |= Q(content_type=types[model], object_id__in=ids)
    signatures: dict[tuple[int, str], list[Signature]] = defaultdict(list)
    for sig in Signature.objects.filter(condition).order_by("signed_at", "pk"):
        signatures[(sig.content_type_id, sig.object_id)].append(sig)

    def manifest(model, pk, current_hash: str | None) -> list[Manifestation]:
        return [
            Manifestation(
                printed_name=s.printed_name,
                meaning=Meaning(s.meaning).label,
                signed_at=s.signed_at.astimezone(UTC),
                method=Method(s.method).label,
                intact=current_hash is not None and s.content_hash == current_hash,
                comment=s.comment,
            )
            for s in signatures.get((types[model].pk, str(pk)), [])
        ]

    def signed(model, record, content_builder=None) -> list[Manifestation]:
        key = (types[model].pk, str(record.pk))
        if key not in signatures:
            return []
        target = record if content_builder is None else _Signed(record, content_builder())
        return manifest(model, record.pk, content_hash(target))

    for run in runs:

        def run_content(run=run):
            return {
                "template": run.template.code,
                "version": run.version.version,
                "work_order": run.work_order_id,
                "operation": run.operation_id,
                "workstation": run.workstation_id,
                "responses": [r.signature_content() for r in by_run.get(run.pk, [])],
            }

        ctx = RunContext(
            id=run.pk,
            template=run.template.code,
            title=run.template.title,
            version=run.version.version,
            status=run.get_status_display(),
            operation_sequence=run.operation.sequence if run.operation_id else None,
            workstation=run.workstation.code,
            completed_by=_person(run.completed_by),
            completed_at=run.completed_at,
            responses=[
                Measurement(
                    prompt=r.item.prompt,
                    value=r.display_value,
                    unit=r.item.unit,
                    in_spec=r.in_spec,
                    lsl=r.item.lsl,
                    usl=r.item.usl,
                    recorded_by=_person(r.recorded_by),
                    recorded_at=r.recorded_at,
                    corrected=r.supersedes_id is not None,
                )
                for r in by_run.get(run.pk, [])
                if r.pk not in superseded
            ],
            signatures=signed(ChecklistRun, run, run_content),
        )
        orders[run.work_order_id].runs.append(ctx)

    lot_ncs: dict[str, list[NonconformanceContext]] = defaultdict(list)
    for nc in ncs:
        ctx = NonconformanceContext(
            id=nc.pk,
            number=nc.number,
            title=nc.title,
            status=nc.get_status_display(),
            disposition=nc.get_disposition_display() if nc.disposition else "",
            opened_at=nc.opened_at,
            lot_code=nc.lot_code,
            signatures=signed(Nonconformance, nc),
        )
        if nc.work_order_id in orders:
            orders[nc.work_order_id].nonconformances.append(ctx)
        if nc.lot_code and nc.lot_code in codes:
            lot_ncs[nc.lot_code].append(ctx)

    lot_holds: dict[str, list[HoldContext]] = defaultdict(list)
    for hold in holds:
        ctx = HoldContext(
            id=hold.pk,
            target=hold.get_target_display(),
            status=hold.get_status_display(),
            reason=hold.reason,
            placed_by=_person(hold.placed_by),
            placed_at=hold.placed_at,
            released_at=hold.released_at,
            lot_code=hold.lot_code,
            signatures=signed(Hold, hold),
        )
        if hold.work_order_id in orders:
            orders[hold.work_order_id].holds.append(ctx)
        elif hold.lot_code:
            lot_holds[hold.lot_code].append(ctx)

    if any(k[0] == types[WorkOrder].pk for k in signatures):
        for order in WorkOrder.objects.filter(
            pk__in=[int(k[1]) for k in signatures if k[0] == types[WorkOrder].pk]
        ):
            orders[order.pk].signatures = signed(WorkOrder, order)
    lot_signatures: dict[int, list[Manifestation]] = {}
    if any(k[0] == types[Lot].pk for k in signatures):
        for lot in Lot.objects.filter(pk__in=[int(k[1]) for k in signatures if k[0] == types[Lot].pk]):
            lot_signatures[lot.pk] = signed(Lot, lot)

    # Who made each lot, and when: the ledger event that made it.
    made = {
        row["id"]: (
            f"{row['created_event__user__first_name']} {row['created_event__user__last_name']}".strip()
            or row["created_event__user__username"],
            row["created_event__occurred_at"],
        )
        for row in Lot.objects.filter(pk__in=lot_ids, created_event__isnull=False).values(
            "id",
            "created_event__occurred_at",
            "created_event__user__username",
            "created_event__user__first_name",
            "created_event__user__last_name",
        )
    }
    return TraceContext(
        made=made,
        orders=orders,
        lot_nonconformances=dict(lot_ncs),
        lot_holds=dict(lot_holds),
        lot_signatures=lot_signatures,
    )


# --- the trace as data ---------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _num(value: Decimal | None) -> str | None:
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
        "quantity": _num(order.quantity),
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
                        "good": _num(w.good),
                        "scrap": _num(w.scrap),
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
                        "lsl": _num(m.lsl),
                        "usl": _num(m.usl),
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
        "quantity": _num(node.quantity),
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
                "quantity": _num(e.quantity),
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
