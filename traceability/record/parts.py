"""The pieces of an order's production record, each from rows already read (see `selectors`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from mes.signatures import Meaning, Signature
from quality.models import ChecklistRun
from workorders.models import (
    BomLine,
    Consumption,
    Downtime,
    Lot,
    ProductionEvent,
    Routing,
    WorkOrder,
    WorkOrderOperation,
)
from workorders.states import EventKind

# The history rows that change a fact of the record (not its lifecycle): an edit after the fact.
# Per model, the fields that are facts; a change of status or a timestamp is the record's life.
EDITED_FACTS: dict[type, tuple[str, ...]] = {
    WorkOrder: ("number", "product_id", "routing_id", "line_id", "quantity"),
    WorkOrderOperation: ("sequence", "name", "workstation_id", "setup_seconds", "ideal_cycle_seconds"),
    Consumption: ("lot_id", "operation_id", "quantity"),
    Lot: ("code", "kind", "product_id", "work_order_id", "produced_at"),
    ChecklistRun: ("version_id", "template_id", "workstation_id", "work_order_id", "operation_id"),
}


def person(user) -> str:
    return user.printed_name if user is not None else ""


def as_of(history_model, at, **filters):
    """The newest history rows (one per object) at or before `at`, deleted ones left out."""
    rows = history_model.objects.filter(**filters)
    if at is not None:
        rows = rows.filter(history_date__lte=at)
    latest: dict[int, object] = {}
    for row in rows.order_by("history_date", "history_id"):
        latest[row.id] = row
    return [r for r in latest.values() if r.history_type != "-"]


def header(order: WorkOrder) -> dict:
    routing_rows = as_of(Routing.history.model, order.released_at, id=order.routing_id)
    bom_rows = as_of(BomLine.history.model, order.released_at, product_id=order.product_id)
    parts = {}
    if bom_rows:
        ids = {r.component_id for r in bom_rows}
        parts = dict(type(order.product).objects.filter(pk__in=ids).values_list("pk", "part_number"))
    return {
        "id": order.pk,
        "number": order.number,
        "product": {
            "part_number": order.product.part_number,
            "name": order.product.name,
            "unit": order.product.unit,
            "tracking": order.product.tracking,
        },
        "quantity": order.quantity,
        "quantity_good": order.quantity_good,
        "quantity_scrap": order.quantity_scrap,
        "site": order.line.site.code,
        "line": order.line.code,
        "routing": {
            "code": order.routing.code,
            "name": order.routing.name,
            # The routing and BOM as they stood when the order was released: the revision is the
            # id of the history row then current.
            "revision": routing_rows[0].history_id if routing_rows else None,
        },
        "bom": sorted(
            (
                {"component": parts.get(r.component_id, ""), "quantity": r.quantity, "revision": r.history_id}
                for r in bom_rows
            ),
            key=lambda b: b["component"],
        ),
        "due": order.due,
        "released_at": order.released_at,
        "started_at": order.started_at,
        "completed_at": order.completed_at,
    }


def event_data(e: ProductionEvent) -> dict:
    return {
        "id": e.pk,
        "kind": e.kind,
        "operation": e.operation_id,
        "workstation": e.workstation.code if e.workstation_id else "",
        "by": person(e.user),
        "username": e.user.username,
        "occurred_at": e.occurred_at,
        "recorded_at": e.recorded_at,
        "quantity": e.quantity,
        "reason": e.reason.code if e.reason_id else "",
        "reason_name": e.reason.name if e.reason_id else "",
        "note": e.note,
        "data": e.data,
        "override_by": person(e.override_by) if e.override_by_id else "",
    }


def run_data(run: ChecklistRun) -> dict:
    responses = []
    for r in sorted(run.responses.all(), key=lambda r: r.pk):
        item = r.item
        responses.append(
            {
                "id": r.pk,
                "item": item.prompt,
                "kind": item.kind,
                "value": r.display_value,
                "number": r.value_number,
                "unit": item.unit,
                "lsl": item.lsl,
                "usl": item.usl,
                "in_spec": r.in_spec,
                "by": person(r.recorded_by),
                "at": r.recorded_at,
                "supersedes": r.supersedes_id,
                "correction_reason": r.correction_reason,
            }
        )
    return {
        "id": run.pk,
        "template": run.template.code,
        "title": run.template.title,
        "version": run.version.version,
        "operation": run.operation_id,
        "workstation": run.workstation.code,
        "trigger": run.trigger,
        "status": run.status,
        "started_by": person(run.started_by),
        "started_at": run.started_at,
        "completed_by": person(run.completed_by),
        "completed_at": run.completed_at,
        "units_at_submission": run.units_at_submission,
        "responses": responses,
    }


def signatures_data(records: dict[type, list[int]]) -> list[dict]:
    """Every signature on the given records, as signed (name, meaning, time, hash), in one query.
    Whether each still matches its record is the signed record's own page's concern (the
    kernel's `manifestations`): checking here would read every signed record once more."""
    condition = Q(pk__in=[])
    labels = {}
    for model, ids in records.items():
        if not ids:
            continue
        ct = ContentType.objects.get_for_model(model)
        labels[ct.pk] = model._meta.label_lower
        condition |= Q(content_type=ct, object_id__in=[str(i) for i in ids])
    rows = Signature.objects.filter(condition).select_related("signer").order_by("signed_at", "pk")
    return [
        {
            "id": s.pk,
            "record": labels.get(s.content_type_id, ""),
            "record_id": s.object_id,
            "meaning": Meaning(s.meaning).label,
            "printed_name": s.printed_name,
            "signed_at": s.signed_at,
            "method": s.method,
            "content_hash": s.content_hash,
            "comment": s.comment,
        }
        for s in rows
    ]


def downtime_data(operations: list[WorkOrderOperation], last_at: dict[int, datetime]) -> list[dict]:
    """Downtime at the order's workstations while each of its operations ran (one query)."""
    windows = [(op, op.started_at, last_at.get(op.pk)) for op in operations if op.started_at]
    if not windows:
        return []
    condition = Q(pk__in=[])
    for op, start, end in windows:
        overlap = Q(workstation_id=op.workstation_id) & (Q(ended_at__isnull=True) | Q(ended_at__gt=start))
        if end is not None:
            overlap &= Q(started_at__lt=end)
        condition |= overlap
    rows = Downtime.objects.filter(condition).select_related("reason", "workstation").order_by("started_at")
    out = []
    for d in rows:
        ops = [
            op.pk
            for op, start, end in windows
            if op.workstation_id == d.workstation_id
            and (d.ended_at is None or d.ended_at > start)
            and (end is None or d.started_at < end)
        ]
        out.append(
            {
                "id": d.pk,
                "workstation": d.workstation.code,
                "operations": ops,
                "reason": d.reason.code,
                "reason_name": d.reason.name,
                "planned": d.planned,
                "started_at": d.started_at,
                "ended_at": d.ended_at,
                "minutes": round((d.ended_at - d.started_at).total_seconds() / 60, 1) if d.ended_at else None,
            }
        )
    return out


def edits_data(model, ids) -> list[dict]:
    """History rows of `model`'s records `ids` that changed one of its facts (one query)."""
    facts = EDITED_FACTS[model]
    rows = (
        model.history.model.objects.filter(id__in=list(ids))
        .select_related("history_user")
        .order_by("id", "history_date", "history_id")
    )
    out, previous = [], {}
    for row in rows:
        before = previous.get(row.id)
        previous[row.id] = row
        if before is None or row.history_type != "~":
            continue
        changed = [f for f in facts if getattr(row, f) != getattr(before, f)]
        if changed:
            out.append(
                {
                    "record": model._meta.label_lower,
                    "record_id": row.id,
                    "history_id": row.history_id,
                    "fields": {f: [getattr(before, f), getattr(row, f)] for f in changed},
                    "by": person(row.history_user),
                    "at": row.history_date,
                    "reason": row.history_change_reason or "",
                }
            )
    return out


def scrap_by_reason(events: list[ProductionEvent]) -> list[dict]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    names: dict[str, str] = {}
    for e in events:
        if e.kind == EventKind.SCRAP and e.quantity:
            code = e.reason.code if e.reason_id else ""
            totals[code] += e.quantity
            names[code] = e.reason.name if e.reason_id else ""
    return [{"reason": code, "name": names[code], "quantity": qty} for code, qty in sorted(totals.items())]


def sops_data(op_sops, op_of_routing, versions, acks, by_op) -> list[dict]:
    """Each SOP an operation required: the version in force when it started, who of the people
    who worked it acknowledged that version and who did not."""
    sops = []
    for s in op_sops:
        op = op_of_routing[s.routing_operation_id]
        start = op.started_at
        in_force = [
            v
            for v in versions
            if v.document_id == s.document_id
            and start is not None
            and v.effective_at <= start
            and (v.retired_at is None or v.retired_at > start)
        ]
        version = in_force[-1] if in_force else None
        acked = {a.user_id: a for a in acks if version is not None and a.version_id == version.pk}
        sops.append(
            {
                "operation": op.pk,
                "document": s.document.code,
                "title": s.document.title,
                "version": version.version if version else None,
                "acknowledged": sorted(
                    ({"by": person(a.user), "at": a.acknowledged_at} for a in acked.values()),
                    key=lambda a: a["at"],
                ),
                "not_acknowledged_by": sorted(
                    person(e.user)
                    for e in {e.user_id: e for e in by_op.get(op.pk, [])}.values()
                    if e.user_id not in acked
                ),
            }
        )

    return sops
