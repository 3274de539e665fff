"""The production context of every node of a trace, fetched in bulk: a fixed handful of queries
whatever the size of the trace, never a query per node."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Max, Min, Q, Sum

from mes.signatures import Manifestation, Signature, content_hash
from quality.models import ChecklistResponse, ChecklistRun, Hold, Nonconformance
from quality.states import HoldTarget
from traceability.selectors.graph import Trace, TraceNode
from workorders.models import (
    Lot,
    ProductionEvent,
    WorkOrder,
    WorkOrderOperation,
)
from workorders.states import EventKind

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
            good=Sum("quantity", filter=Q(kind=EventKind.GOOD)),
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
            Manifestation.of(s, current_hash=current_hash)
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
