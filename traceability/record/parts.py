"""The pieces of an order's production record, each from rows already read (see `selectors`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from mes.models import User
from mes.signatures import Meaning, Signature
from quality.models import ChecklistRun, response_display
from workorders.models import (
    BomLine,
    Consumption,
    Downtime,
    Lot,
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


def as_text(field_name: str) -> Cast:
    """A timestamp column as the database's own text, to be parsed by `instant`."""
    return Cast(field_name, output_field=TextField())


def instant(text: str | None) -> datetime | None:
    """A timestamp read as text (`as_text`), as the aware UTC datetime Django would have made of
    it, by the C parser of `datetime.fromisoformat`: PostgreSQL writes it with its offset,
    SQLite keeps UTC without one."""
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def with_instants(rows, fields: tuple[str, ...], times: tuple[str, ...]) -> list[dict]:
    """`rows` (a queryset) as dicts of `fields` and of the timestamp columns `times`, the latter
    read as text and parsed in bulk (see `instant`)."""
    texts = {f"{name}_text": as_text(name) for name in times}
    found = list(rows.values(*fields, **texts))
    pairs = [(name, f"{name}_text") for name in times]
    for row in found:
        for name, text in pairs:
            row[name] = instant(row.pop(text))
    return found


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


def event_data(e: dict, names: dict[int, str], usernames: dict[int, str], stations: dict[int, str]) -> dict:
    """A ledger event read as values (see `selectors.EVENT_FIELDS`), people and workstations
    looked up by id."""
    return {
        "id": e["id"],
        "kind": e["kind"],
        "operation": e["operation_id"],
        "workstation": stations[e["workstation_id"]] if e["workstation_id"] else "",
        "by": names[e["user_id"]],
        "username": usernames[e["user_id"]],
        "occurred_at": e["occurred_at"],
        "recorded_at": e["recorded_at"],
        "quantity": e["quantity"],
        "reason": e["reason__code"] or "",
        "reason_name": e["reason__name"] or "",
        "note": e["note"],
        "data": e["data"],
        "override_by": names[e["override_by_id"]] if e["override_by_id"] else "",
    }


def run_data(run: dict, run_responses: list[tuple], items: dict[int, dict], names: dict[int, str]) -> dict:
    """A checklist run read as values (see `selectors.RUN_FIELDS`) with its responses
    (`run_responses`, tuples of `selectors.RESPONSE_FIELDS` in id order, their time as text) and
    their items by id."""
    responses = []
    for (
        pk,
        _run,
        item_id,
        text,
        number,
        flag,
        choices,
        photo,
        in_spec,
        recorded_by,
        recorded_at,
        supersedes,
        correction_reason,
    ) in run_responses:
        item = items[item_id]
        kind, unit = item["kind"], item["unit"]
        responses.append(
            {
                "id": pk,
                "item": item["prompt"],
                "kind": kind,
                "value": response_display(
                    kind,
                    decimals=item["decimals"],
                    unit=unit,
                    number=number,
                    flag=flag,
                    choices=choices,
                    photo=photo,
                    text=text,
                ),
                "number": number,
                "unit": unit,
                "lsl": item["lsl"],
                "usl": item["usl"],
                "in_spec": in_spec,
                "by": names[recorded_by] if recorded_by is not None else "",
                "at": instant(recorded_at),
                "supersedes": supersedes,
                "correction_reason": correction_reason,
            }
        )
    return {
        "id": run["id"],
        "template": run["template__code"],
        "title": run["template__title"],
        "version": run["version__version"],
        "operation": run["operation_id"],
        "workstation": run["workstation__code"],
        "trigger": run["trigger"],
        "status": run["status"],
        "started_by": names[run["started_by_id"]] if run["started_by_id"] is not None else "",
        "started_at": run["started_at"],
        "completed_by": names[run["completed_by_id"]] if run["completed_by_id"] is not None else "",
        "completed_at": run["completed_at"],
        "units_at_submission": run["units_at_submission"],
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
    rows = (
        Signature.objects.filter(condition)
        .order_by("signed_at", "pk")
        .values_list(
            "pk", "content_type_id", "object_id", "meaning", "printed_name", "signed_at", "method",
            "content_hash", "comment",
        )
    )  # fmt: skip
    meanings: dict[str, str] = {}
    out = []
    for pk, ct_id, object_id, meaning, printed_name, signed_at, method, signed_hash, comment in rows:
        if meaning not in meanings:
            meanings[meaning] = str(Meaning(meaning).label)
        out.append(
            {
                "id": pk,
                "record": labels.get(ct_id, ""),
                "record_id": object_id,
                "meaning": meanings[meaning],
                "printed_name": printed_name,
                "signed_at": signed_at,
                "method": method,
                "content_hash": signed_hash,
                "comment": comment,
            }
        )
    return out


def downtime_data(operations: list[WorkOrderOperation], last_at: dict[int, datetime]) -> list[dict]:
    """Downtime at the order's workstations while each of its operations ran (one query)."""
    windows = [(op, op.started_at, last_at.get(op.pk)) for op in operations if op.started_at]
    if not windows:
        return []
    # One broad condition (the order's workstations, from its first start to its last event) rather
    # than one per operation, which costs more to build than the query costs to run; which
    # operation's window a stop overlaps, if any, is decided below.
    rows = Downtime.objects.filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=min(start for _, start, _ in windows)),
        workstation_id__in={op.workstation_id for op, _, _ in windows},
    )
    if all(end is not None for _, _, end in windows):
        rows = rows.filter(started_at__lt=max(end for _, _, end in windows))
    out = []
    for d in rows.select_related("reason", "workstation").order_by("started_at"):
        ops = [
            op.pk
            for op, start, end in windows
            if op.workstation_id == d.workstation_id
            and (d.ended_at is None or d.ended_at > start)
            and (end is None or d.started_at < end)
        ]
        if not ops:
            continue
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


def edits_data(records: dict[type, list[int]], names: dict[int, str]) -> list[dict]:
    """History rows of the given records that changed one of their facts (one query per model,
    read as values; one more for the people who made them if `names` doesn't know them), by time."""
    out = []
    for model, ids in records.items():
        facts = EDITED_FACTS[model]
        rows = (
            model.history.model.objects.filter(id__in=list(ids))
            .order_by("id", "history_date", "history_id")
            .values_list("id", "history_id", "history_type", "history_date", "history_change_reason",
                         "history_user_id", *facts)
        )  # fmt: skip
        previous: dict[int, tuple] = {}
        for row in rows:
            before = previous.get(row[0])
            previous[row[0]] = row
            if before is None or row[2] != "~":
                continue
            changed = [(k, f) for k, f in enumerate(facts, start=6) if row[k] != before[k]]
            if changed:
                out.append(
                    {
                        "record": model._meta.label_lower,
                        "record_id": row[0],
                        "history_id": row[1],
                        "fields": {f: [before[k], row[k]] for k, f in changed},
                        "by": row[5],  # the person's id until the names are known (below)
                        "at": row[3],
                        "reason": row[4] or "",
                    }
                )
    unknown = {e["by"] for e in out} - set(names) - {None}
    if unknown:
        names = names | {pk: u.printed_name for pk, u in User.objects.in_bulk(unknown).items()}
    for e in out:
        e["by"] = names.get(e["by"], "") if e["by"] is not None else ""
    return sorted(out, key=lambda e: (e["at"], e["history_id"]))


def scrap_by_reason(events: list[dict]) -> list[dict]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    names: dict[str, str] = {}
    for e in events:
        if e["kind"] == EventKind.SCRAP and e["quantity"]:
            code = e["reason__code"] or ""
            totals[code] += e["quantity"]
            names[code] = e["reason__name"] or ""
    return [{"reason": code, "name": names[code], "quantity": qty} for code, qty in sorted(totals.items())]


def sops_data(op_sops, op_of_routing, versions, acks, by_op, names) -> list[dict]:
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
                    names[user_id] for user_id in {e["user_id"] for e in by_op.get(op.pk, [])} - set(acked)
                ),
            }
        )

    return sops
