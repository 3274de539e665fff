"""The pieces of an order's production record, each from rows already read (see `selectors`)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import CharField, F, FilteredRelation, OuterRef, Q, QuerySet, Subquery, TextField
from django.db.models.functions import Cast, Coalesce

from mes.compiled import Compiled
from mes.signatures import Meaning, Signature
from quality.models import OperationSop, response_display
from quality.states import ItemKind
from workorders.models import (
    BomLine,
    Downtime,
    Product,
    ProductionEvent,
    Routing,
    WorkOrder,
    WorkOrderOperation,
)
from workorders.states import EventKind


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


def values_with_texts(rows, fields: tuple[str, ...], times: tuple[str, ...]):
    """`rows` (a queryset) as values of `fields` and of the timestamp columns `times`, the latter
    read as text (`<name>_text`), to be parsed in bulk by `parse_instants`."""
    return rows.values(*fields, **{f"{name}_text": as_text(name) for name in times})


def parse_instants(rows: list[dict], times: tuple[str, ...]) -> list[dict]:
    """`rows` read by `values_with_texts`, each time column parsed into its own name (`instant`)."""
    pairs = [(name, f"{name}_text") for name in times]
    for row in rows:
        for name, text in pairs:
            row[name] = instant(row.pop(text))
    return rows


def as_of(rows, at, *fields):
    """The history `rows` at or before `at` (a time or an expression; all of them when None), in
    time order, as values of `id`, `history_type` and `fields`: `newest` keeps the newest of each
    object's."""
    if at is not None:
        rows = rows.filter(history_date__lte=at)
    return rows.order_by("history_date", "history_id").values("id", "history_type", *fields)


def newest(rows) -> list[dict]:
    """The newest of the history rows read by `as_of` (one per object), deleted ones left out."""
    latest: dict[int, dict] = {}
    for row in rows:
        latest[row["id"]] = row
    return [r for r in latest.values() if r["history_type"] != "-"]


def with_routing_revision(orders):
    """`orders` with `routing_revision`: the id of the history row of each one's routing current
    when it was released (the newest if it wasn't; none if the routing was deleted by then), read
    with the order rather than by a query of its own: `as_of` for the routing alone."""
    newest = Routing.history.model.objects.filter(
        id=OuterRef("routing_id"), history_date__lte=Coalesce(OuterRef("released_at"), F("history_date"))
    ).order_by("-history_date", "-history_id")
    return orders.annotate(
        routing_revision=Subquery(newest.values("history_id")[:1]),
        routing_revision_type=Subquery(newest.values("history_type")[:1]),
    )


def _bom_of(order_id: int):
    """The history rows of the BOM of the order's product as it stood when the order was released
    (all of them if it wasn't), each line's component's part number read with it (none for a
    component since deleted), for `newest`."""
    order = WorkOrder.objects.filter(pk=order_id).order_by()
    part_number = Product.objects.filter(pk=OuterRef("component_id")).values("part_number")[:1]
    return as_of(
        BomLine.history.model.objects.filter(product_id=Subquery(order.values("product_id"))).annotate(
            part_number=Subquery(part_number)
        ),
        Coalesce(Subquery(order.values("released_at")), F("history_date")),
        "history_id",
        "quantity",
        "part_number",
    )


_BOM = Compiled(_bom_of, "order_id")


def header(order: WorkOrder) -> dict:
    """The order's header; `order` as read by `with_routing_revision`."""
    bom_rows = newest(_BOM.all(order_id=order.pk))
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
            "revision": order.routing_revision if order.routing_revision_type not in (None, "-") else None,
        },
        "bom": sorted(
            (
                {"component": r["part_number"] or "", "quantity": r["quantity"], "revision": r["history_id"]}
                for r in bom_rows
            ),
            key=lambda b: b["component"],
        ),
        "due": order.due,
        "released_at": order.released_at,
        "started_at": order.started_at,
        "completed_at": order.completed_at,
    }


def json_value(text: str | None):
    """A JSON column read as text (`as_text`): most events' data is an empty object, which needs
    no decoding; the rest is decoded as Django would."""
    if text == "{}":
        return {}
    return None if text is None else json.loads(text)


# The columns of a ledger event as `selectors` reads them (`values()`): its own columns, then its
# data and times as text.
EVENT_COLUMNS = (
    "id", "kind", "operation_id", "workstation_id", "user_id", "override_by_id", "quantity",
    "reason__code", "reason__name", "note", "data_text", "occurred_at_text", "recorded_at_text",
)  # fmt: skip
EVENT_TEXTS = {"data_text": "data", "occurred_at_text": "occurred_at", "recorded_at_text": "recorded_at"}


def event_data(
    e, occurred_at: datetime, names: dict[int, str], usernames: dict[int, str], stations: dict[int, str]
) -> dict:
    """A ledger event read as a dict of `EVENT_COLUMNS` (its occurrence already parsed), people and
    workstations looked up by id."""
    user_id, workstation_id, override_by_id = e["user_id"], e["workstation_id"], e["override_by_id"]
    return {
        "id": e["id"],
        "kind": e["kind"],
        "operation": e["operation_id"],
        "workstation": stations[workstation_id] if workstation_id else "",
        "by": names[user_id],
        "username": usernames[user_id],
        "occurred_at": occurred_at,
        "recorded_at": instant(e["recorded_at_text"]),
        "quantity": e["quantity"],
        "reason": e["reason__code"] or "",
        "reason_name": e["reason__name"] or "",
        "note": e["note"],
        "data": json_value(e["data_text"]),
        "override_by": names[override_by_id] if override_by_id else "",
    }


def run_data(run: dict, run_responses: list[tuple], items: dict[int, tuple], names: dict[int, str]) -> dict:
    """A checklist run read as values (see `selectors.RUN_FIELDS`) with its responses
    (`run_responses`, tuples of `selectors.RESPONSE_FIELDS` in id order, their time as text) and
    their items by id (tuples of `selectors.ITEM_FIELDS`). Thousands of responses go through here:
    it looks up as little as it can per response."""
    responses = []
    append = responses.append
    at_of: dict[str, datetime | None] = {}  # a run's values are mostly recorded at one time
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
        _, prompt, kind, unit, lsl, usl, decimals = items[item_id]
        at = at_of.get(recorded_at)
        if at is None:
            at = at_of[recorded_at] = instant(recorded_at)
        append(
            {
                "id": pk,
                "item": prompt,
                "kind": kind,
                "value": response_display(
                    kind,
                    decimals=decimals,
                    unit=unit,
                    number=number,
                    flag=flag,
                    # Only a choice item's answer is shown from its choices.
                    choices=json_value(choices) if kind == ItemKind.CHOICE else None,
                    photo=photo,
                    text=text,
                ),
                "number": number,
                "unit": unit,
                "lsl": lsl,
                "usl": usl,
                "in_spec": in_spec,
                "by": names[recorded_by] if recorded_by is not None else "",
                "at": at,
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


SIGNATURE_COLUMNS = (
    "pk", "content_type_id", "object_id", "meaning", "printed_name", "signed_at", "method", "content_hash",
    "comment",
)  # fmt: skip


def signatures_of(records: dict[int, QuerySet]) -> QuerySet:
    """Every signature on the given records (by content type id, a queryset of the records of
    that type), in the order they were signed, as values of `SIGNATURE_COLUMNS`: a branch per
    type, each read by the signatures' index from its records."""
    branches = [
        Signature.objects.filter(
            content_type_id=content_type_id,
            object_id__in=Subquery(rows.order_by().annotate(key=Cast("pk", CharField())).values("key")),
        )
        .order_by()
        .values(*SIGNATURE_COLUMNS)
        for content_type_id, rows in records.items()
    ]
    return branches[0].union(*branches[1:], all=True).order_by("signed_at", "pk")


def signatures_data(rows: list[dict], models: dict[int, type]) -> list[dict]:
    """The signatures read by `signatures_of` (`models` by content type id), as signed (name,
    meaning, time, hash). Whether each still matches its record is the signed record's own page's
    concern (the kernel's `manifestations`): checking here would read every signed record once
    more."""
    labels = {content_type_id: model._meta.label_lower for content_type_id, model in models.items()}
    meanings: dict[str, str] = {}
    out = []
    for row in rows:
        meaning = row["meaning"]
        if meaning not in meanings:
            meanings[meaning] = str(Meaning(meaning).label)
        out.append(
            {
                "id": row["pk"],
                "record": labels.get(row["content_type_id"], ""),
                "record_id": row["object_id"],
                "meaning": meanings[meaning],
                "printed_name": row["printed_name"],
                "signed_at": row["signed_at"],
                "method": row["method"],
                "content_hash": row["content_hash"],
                "comment": row["comment"],
            }
        )
    return out


def _downtime_of(workstation_ids: list[int], since: datetime, until: datetime | None = None):
    """Downtime at the workstations that had not ended by `since` and (given `until`) had started
    before `until`."""
    rows = Downtime.objects.filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=since), workstation_id__in=workstation_ids
    )
    if until is not None:
        rows = rows.filter(started_at__lt=until)
    return rows.select_related("reason", "workstation").order_by("started_at")


_DOWNTIME = Compiled(_downtime_of, "workstation_ids", "since")
_DOWNTIME_UNTIL = Compiled(_downtime_of, "workstation_ids", "since", "until")


def downtime_data(operations: list[WorkOrderOperation], last_at: dict[int, datetime]) -> list[dict]:
    """Downtime at the order's workstations while each of its operations ran (one query)."""
    windows = [(op, op.started_at, last_at.get(op.pk)) for op in operations if op.started_at]
    if not windows:
        return []
    # One broad condition (the order's workstations, from its first start to its last event) rather
    # than one per operation, which costs more to build than the query costs to run; which
    # operation's window a stop overlaps, if any, is decided below.
    workstation_ids = list({op.workstation_id for op, _, _ in windows})
    since = min(start for _, start, _ in windows)
    if all(end is not None for _, _, end in windows):
        rows = _DOWNTIME_UNTIL.all(
            workstation_ids=workstation_ids, since=since, until=max(end for _, _, end in windows)
        )
    else:
        rows = _DOWNTIME.all(workstation_ids=workstation_ids, since=since)
    out = []
    for d in rows:
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


def scrap_by_reason(events: list[dict]) -> list[dict]:
    """Scrap per reason of an operation's events (as `event_data` gives them)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    names: dict[str, str] = {}
    for e in events:
        if e["kind"] == EventKind.SCRAP and e["quantity"]:
            code = e["reason"]
            totals[code] += e["quantity"]
            names[code] = e["reason_name"]
    return [{"reason": code, "name": names[code], "quantity": qty} for code, qty in sorted(totals.items())]


SOP_COLUMNS = (
    "id", "routing_operation_id", "document_id", "document__code", "document__title", "effective__id",
    "effective__version", "acknowledged__id", "acknowledged__user_id",
)  # fmt: skip
# Their times, read as text (`instant`), by name.
SOP_TIMES = {
    "effective_at": "effective__effective_at",
    "retired_at": "effective__retired_at",
    "acknowledged_at": "acknowledged__acknowledged_at",
}


def _operation_sops_of(order_id: int):
    """The rows of `operation_sops`: the order's routing operations and the people who worked them
    (its events at an operation) are read by subqueries."""
    routing_operations = (
        WorkOrderOperation.objects.filter(work_order_id=order_id, routing_operation__isnull=False)
        .order_by()
        .values("routing_operation_id")
    )
    people = (
        ProductionEvent.objects.filter(work_order_id=order_id, operation__isnull=False)
        .order_by()
        .values("user_id")
    )
    return (
        OperationSop.objects.filter(routing_operation_id__in=Subquery(routing_operations))
        .annotate(
            effective=FilteredRelation(
                "document__versions", condition=Q(document__versions__effective_at__isnull=False)
            ),
            acknowledged=FilteredRelation(
                "effective__acknowledgements",
                condition=Q(effective__acknowledgements__user_id__in=Subquery(people)),
            ),
        )
        .order_by(*OperationSop._meta.ordering, "effective__version", "acknowledged__id")
        .values(*SOP_COLUMNS, **{f"{name}_text": as_text(path) for name, path in SOP_TIMES.items()})
    )


_OPERATION_SOPS = Compiled(_operation_sops_of, "order_id")


def operation_sops(order_id: int) -> tuple[list[dict], list[dict], list[dict]]:
    """The SOPs the order's routing operations require (in their own order), the versions of their
    documents that ever took effect (by document and version) and the acknowledgements of these
    versions by the people who worked the order's operations, in one query."""
    op_sops: dict[int, dict] = {}
    versions: dict[int, dict] = {}
    acks: dict[int, dict] = {}
    for row in _OPERATION_SOPS.all(order_id=order_id):
        document_id, version_id = row["document_id"], row["effective__id"]
        op_sops.setdefault(
            row["id"],
            {
                "routing_operation_id": row["routing_operation_id"],
                "document_id": document_id,
                "code": row["document__code"],
                "title": row["document__title"],
            },
        )
        if version_id is not None:
            versions[version_id] = {
                "id": version_id,
                "document_id": document_id,
                "version": row["effective__version"],
                "effective_at": instant(row["effective_at_text"]),
                "retired_at": instant(row["retired_at_text"]),
            }
        if row["acknowledged__id"] is not None:
            acks[row["acknowledged__id"]] = {
                "version_id": version_id,
                "user_id": row["acknowledged__user_id"],
                "acknowledged_at": instant(row["acknowledged_at_text"]),
            }
    return (
        list(op_sops.values()),
        sorted(versions.values(), key=lambda v: (v["document_id"], v["version"])),
        list(acks.values()),  # by id: who acknowledged at the same time as another comes after
    )


def sops_data(op_sops, op_of_routing, versions, acks, people_by_op, names) -> list[dict]:
    """Each SOP an operation required (`operation_sops`): the version in force when it started,
    who of the people who worked it (`people_by_op`: user ids by operation id) acknowledged that
    version and who did not."""
    versions_of: dict[int, list[dict]] = defaultdict(list)
    for v in versions:
        versions_of[v["document_id"]].append(v)
    sops = []
    for s in op_sops:
        op = op_of_routing[s["routing_operation_id"]]
        start = op.started_at
        in_force = [
            v
            for v in versions_of[s["document_id"]]
            if start is not None
            and v["effective_at"] <= start
            and (v["retired_at"] is None or v["retired_at"] > start)
        ]
        version = in_force[-1] if in_force else None
        acked = {a["user_id"]: a for a in acks if version is not None and a["version_id"] == version["id"]}
        sops.append(
            {
                "operation": op.pk,
                "document": s["code"],
                "title": s["title"],
                "version": version["version"] if version else None,
                "acknowledged": sorted(
                    ({"by": names[user_id], "at": a["acknowledged_at"]} for user_id, a in acked.items()),
                    key=lambda a: a["at"],
                ),
                "not_acknowledged_by": sorted(
                    names[user_id] for user_id in people_by_op.get(op.pk, set()) - set(acked)
                ),
            }
        )

    return sops
