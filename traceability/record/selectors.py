"""Assemble an order's production record (eBR/DHR) from what is stored.

`record_for(order)` reads the order, its operations and ledger events, consumptions, lots made,
checklist runs with every response, the checklists and SOPs its routing required, SOP
acknowledgements, nonconformances, holds, signatures on all of these, downtime at its
workstations while it ran, machine counters and the history rows of its records, in a fixed
number of queries whatever the size of the order (one per kind of thing, never one per row).

The record is plain data (dicts and lists of values) so the page, the JSON, the PDF and the hash
read the same thing. Its hash covers the facts only, not the review of it, so a release can seal
it and a later change to any fact it covers breaks the seal.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property

from django.db.models import Case, Q, TextField, When
from django.utils.translation import gettext, override

from mes.errors import NotFound
from mes.models import User, Workstation
from mes.selectors import records_visible_to
from quality.models import (
    ChecklistResponse,
    ChecklistRun,
    Hold,
    Nonconformance,
    OperationChecklist,
)
from quality.states import ItemKind
from traceability.models import RecordSnapshot
from traceability.record import edits, labor, parts
from workorders.models import (
    Consumption,
    Lot,
    ProductionEvent,
    WorkOrder,
    WorkOrderOperation,
)


@dataclass
class ProductionRecord:
    """One order's record. `content` is what is hashed and exported; the rest helps reading."""

    work_order: WorkOrder
    content: dict
    # What is shown with the record but not sealed by a release: the order's and the lots' status
    # move on afterwards (closed, shipped, consumed) without changing what was made and how.
    order_status: str = ""
    lot_status: dict[str, str] = field(default_factory=dict)
    # Context the exceptions need that is not a fact of the record itself.
    required_checklists: list[dict] = field(default_factory=list)
    machine_unassigned: list[dict] = field(default_factory=list)
    workstation_codes: dict[int, str] = field(default_factory=dict)

    @cached_property
    def content_hash(self) -> str:
        # Hashing a big record costs as much as a good part of assembling it, and a page, the
        # JSON and the PDF each ask for it several times (the hash, the seal, the footer).
        return record_hash(self.content)


def _plain(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record_json(content: dict) -> dict:
    """The record as JSON values (UTC ISO times, decimals as text)."""
    return _plain(content)


def record_hash(content: dict) -> str:
    """SHA-256 of the record's canonical JSON: the same facts give the same hash."""
    canonical = json.dumps(_plain(content), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _as_shaped(now, then):
    """`now` cut to the shape of `then`: dicts keep only the keys `then` has (facts added to
    records since are left out), lists are compared element by element (a list that grew or
    shrank is returned whole, so it differs), values are taken from `now`."""
    if isinstance(then, dict) and isinstance(now, dict):
        return {k: _as_shaped(now[k], v) if k in now else None for k, v in then.items()}
    if isinstance(then, list) and isinstance(now, list) and len(now) == len(then):
        return [_as_shaped(n, t) for n, t in zip(now, then, strict=True)]
    return now


def decided_contents(reviews) -> dict[int, dict]:
    """The latest snapshot's content of each decided review, by review id."""
    found: dict[int, dict] = {}
    ids = [r.pk for r in reviews if r is not None]
    for review_id, content in (
        RecordSnapshot.objects.filter(review_id__in=ids)
        .order_by("taken_at", "pk")
        .values_list("review_id", "content")
    ):
        found[review_id] = content  # later snapshots replace earlier ones
    return found


def hash_as_decided(record: ProductionRecord, snapshot_content: dict | None) -> str:
    """The hash of the record assembled now, over the shape of the record as it was decided (its
    snapshot); the full hash when no snapshot is kept."""
    if snapshot_content is None:
        return record.content_hash
    return record_hash(_as_shaped(record_json(record.content), snapshot_content))


def order_for_record(*, user, number: str) -> WorkOrder:
    """The order `number` if `user` may see its site; NotFound otherwise (another site's order
    is not told apart from one that doesn't exist)."""
    found = records_visible_to(user, WorkOrder.objects.filter(number=number)).first()
    if found is None:
        raise NotFound(
            gettext("No order %(number)s in your sites.") % {"number": number},
            field="number",
            code="unknown_order",
        )
    return found


# The many rows of a big order (ledger events, checklist values) are read as values, not model
# instances, and their few related rows (people, workstations, checklist items) once each: building
# model instances was most of what assembling a record cost.
# Their times are read as the database's text and parsed in bulk (`parts.instant`): Django's own
# conversion of each timestamp, thousands per record, cost more than the rest of reading them.
# Ledger events are read as rows of `parts.EVENT_COLUMNS` and made into the record's dicts once;
# their data (an empty object for most) is read as text too and decoded only when it holds something.
RUN_TIMES = ("started_at", "completed_at")
RUN_FIELDS = (
    "id", "template__code", "template__title", "version__version", "operation_id", "workstation__code",
    "trigger", "status", "started_by_id", "completed_by_id", "units_at_submission",
)  # fmt: skip
RESPONSE_FIELDS = (
    "id", "run_id", "item_id", "value_text", "value_number", "value_bool", "choices_text", "photo",
    "in_spec", "recorded_by_id", "recorded_at_text", "supersedes_id", "correction_reason",
)  # fmt: skip
# The item each response answers is read with it (the response query joins it anyway): a query of
# its own for the few hundred items cost more than the repeated columns.
ITEM_FIELDS = ("id", "prompt", "kind", "unit", "lsl", "usl", "decimals")
RESPONSE_ITEM_FIELDS = tuple(f"item__{name}" for name in ITEM_FIELDS[1:])
CONSUMPTION_FIELDS = (
    "id", "lot__code", "lot__product__part_number", "quantity", "lot__product__unit", "operation_id",
    "event__user_id", "event__occurred_at",
)  # fmt: skip
LOT_FIELDS = ("id", "code", "kind", "quantity", "produced_at", "status")
NONCONFORMANCE_FIELDS = (
    "id", "number", "title", "status", "operation_id", "response_id", "lot_code", "opened_by_id",
    "opened_at", "disposition", "disposition_note", "dispositioned_by_id", "dispositioned_at", "closed_at",
)  # fmt: skip


def record_for(order: WorkOrder) -> ProductionRecord:
    """The production record of `order`, assembled from what is stored (see the module). Its
    words (a signature's meaning...) are the source language's whatever language is active: the
    record's hash must not depend on who reads it."""
    # Assembling a big record makes tens of thousands of objects at once: the cyclic collector would
    # walk the whole heap several times meanwhile for nothing (none of them is garbage yet), as
    # for a trace (see `traceability.selectors.graph.walk`).
    collecting = gc.isenabled()
    gc.disable()
    try:
        with override(None):
            return _assembled(order)
    finally:
        if collecting:
            gc.enable()


def _assembled(order: WorkOrder) -> ProductionRecord:
    order = parts.with_routing_revision(
        WorkOrder.objects.select_related("product", "routing", "line__site")
    ).get(pk=order.pk)
    # With their workstations' sites, as the labor part reads them (see `labor.labor_data`), and
    # their machine counters.
    operations = list(
        WorkOrderOperation.objects.filter(work_order=order)
        .select_related("workstation__line__site", "workstation__machine_counter")
        .order_by("sequence")
    )
    for op in operations:
        op.work_order = order
    events = list(
        ProductionEvent.objects.filter(work_order=order)
        .annotate(**{text: parts.as_text(name) for text, name in parts.EVENT_TEXTS.items()})
        .order_by("id")
        .values_list(*parts.EVENT_COLUMNS, named=True)
    )
    consumptions = list(
        Consumption.objects.filter(work_order=order).order_by("id").values_list(*CONSUMPTION_FIELDS)
    )
    lots = list(Lot.objects.filter(work_order=order).order_by("produced_at", "code").values(*LOT_FIELDS))
    runs = parts.with_instants(
        ChecklistRun.objects.filter(work_order=order).order_by("started_at", "pk"), RUN_FIELDS, RUN_TIMES
    )
    responses = list(
        # By the runs' ids, already read: the planner finds them by the index on the run, where
        # joining the runs to pick the order's made it read every response of the plant.
        ChecklistResponse.objects.filter(run_id__in=[r["id"] for r in runs])
        # Only a choice item's answer is shown from its choices: the others' (an empty list each)
        # are left unread, and the choices are read as text, decoded for a choice item only
        # (`parts.run_data`): a JSON column would have Django convert every row.
        .annotate(
            choices_text=Case(
                When(item__kind=ItemKind.CHOICE, then=parts.as_text("value_choices")),
                default=None,
                output_field=TextField(),
            ),
            recorded_at_text=parts.as_text("recorded_at"),
        )
        .order_by("pk")
        .values_list(*RESPONSE_FIELDS, *RESPONSE_ITEM_FIELDS)
    )
    items: dict[int, dict] = {}
    item_columns = len(RESPONSE_FIELDS)
    for r in responses:
        if r[2] not in items:  # by item_id
            items[r[2]] = dict(zip(ITEM_FIELDS, (r[2], *r[item_columns:]), strict=True))
    lot_codes = [lot["code"] for lot in lots]
    ncs = list(
        Nonconformance.objects.filter(work_order=order)
        .order_by("opened_at", "pk")
        .values(*NONCONFORMANCE_FIELDS)
    )
    holds = list(
        Hold.objects.filter(
            Q(work_order=order) | Q(lot_code__in=lot_codes, work_order__isnull=True)
        ).order_by("placed_at", "pk")
    )

    occurred = [parts.instant(e.occurred_at_text) for e in events]
    last_at: dict[int, datetime] = {}
    people_by_op: dict[int, set[int]] = defaultdict(set)
    for e, at in zip(events, occurred, strict=True):
        if e.operation_id:
            people_by_op[e.operation_id].add(e.user_id)
            if e.operation_id not in last_at or at > last_at[e.operation_id]:
                last_at[e.operation_id] = at
    routing_ops = [op.routing_operation_id for op in operations if op.routing_operation_id]

    required = list(
        OperationChecklist.objects.filter(routing_operation_id__in=routing_ops).values_list(
            "routing_operation_id", "template__code", "trigger", "every_n_units"
        )
    )
    op_of_routing = {op.routing_operation_id: op for op in operations if op.routing_operation_id}
    people = set().union(*people_by_op.values()) if people_by_op else set()
    op_sops, versions, acks = parts.operation_sops(routing_ops, people)
    counters = {}  # the workstations' counters that kept counts no operation was running for
    for op in operations:
        counter = getattr(op.workstation, "machine_counter", None)  # None: the machine has none
        if counter is not None and counter.unassigned > 0:
            counters[op.workstation_id] = counter

    # Everyone the record names, in one query.
    users = User.objects.in_bulk(
        (
            {e.user_id for e in events}
            | {e.override_by_id for e in events}
            | {r[RESPONSE_FIELDS.index("recorded_by_id")] for r in responses}
            | {r["started_by_id"] for r in runs}
            | {r["completed_by_id"] for r in runs}
            | {c[CONSUMPTION_FIELDS.index("event__user_id")] for c in consumptions}
            | {nc["opened_by_id"] for nc in ncs}
            | {nc["dispositioned_by_id"] for nc in ncs}
            | {h.placed_by_id for h in holds}
            | {h.released_by_id for h in holds}
            | {a["user_id"] for a in acks}
        )
        - {None}
    )
    names = {pk: u.printed_name for pk, u in users.items()}
    usernames = {pk: u.username for pk, u in users.items()}
    stations = {op.workstation_id: op.workstation.code for op in operations}
    elsewhere = {e.workstation_id for e in events} - set(stations) - {None}
    if elsewhere:  # an event at a workstation none of the order's operations runs at
        stations |= dict(Workstation.objects.filter(pk__in=elsewhere).values_list("pk", "code"))
    responses_of: dict[int, list[tuple]] = defaultdict(list)
    for r in responses:
        responses_of[r[1]].append(r)  # by run_id

    def name(user_id: int | None) -> str:
        return names[user_id] if user_id is not None else ""

    sops = parts.sops_data(op_sops, op_of_routing, versions, acks, people_by_op, names)
    event_rows = [
        parts.event_data(e, at, names, usernames, stations) for e, at in zip(events, occurred, strict=True)
    ]
    by_op: dict[int, list[dict]] = defaultdict(list)
    for e in event_rows:
        if e["operation"]:
            by_op[e["operation"]].append(e)
    downtime = parts.downtime_data(operations, last_at)
    content = {
        "order": parts.header(order),
        "operations": [
            {
                "id": op.pk,
                "sequence": op.sequence,
                "name": op.name,
                "workstation": op.workstation.code,
                "status": op.status,
                "quantity_good": op.quantity_good,
                "quantity_scrap": op.quantity_scrap,
                "started_at": op.started_at,
                "last_event_at": last_at.get(op.pk),
                "people": sorted({names[user_id] for user_id in people_by_op.get(op.pk, ())}),
                "scrap": parts.scrap_by_reason(by_op.get(op.pk, [])),
            }
            for op in operations
        ],
        "events": event_rows,
        "downtime": downtime,
        "labor": labor.labor_data(operations, event_rows),
        "materials": [
            {
                "id": pk,
                "lot": lot_code,
                "part_number": part_number,
                "quantity": quantity,
                "unit": unit,
                "operation": operation_id,
                "by": name(user_id),
                "at": at,
            }
            for pk, lot_code, part_number, quantity, unit, operation_id, user_id, at in consumptions
        ],
        "checklist_runs": [parts.run_data(r, responses_of[r["id"]], items, names) for r in runs],
        "sops": sops,
        "nonconformances": [
            {
                "id": nc["id"],
                "number": nc["number"],
                "title": nc["title"],
                "status": nc["status"],
                "operation": nc["operation_id"],
                "response": nc["response_id"],
                "lot": nc["lot_code"],
                "opened_by": name(nc["opened_by_id"]),
                "opened_at": nc["opened_at"],
                "disposition": nc["disposition"],
                "disposition_note": nc["disposition_note"],
                "dispositioned_by": name(nc["dispositioned_by_id"]),
                "dispositioned_at": nc["dispositioned_at"],
                "closed_at": nc["closed_at"],
            }
            for nc in ncs
        ],
        "holds": [
            {
                "id": h.pk,
                "target": h.target_label if h.work_order_id is None else f"order {order.number}",
                "reason": h.reason,
                "status": h.status,
                "placed_by": name(h.placed_by_id),
                "placed_at": h.placed_at,
                "released_by": name(h.released_by_id),
                "released_at": h.released_at,
                "release_reason": h.release_reason,
            }
            for h in holds
        ],
        "signatures": parts.signatures_data(
            {
                ChecklistRun: [r["id"] for r in runs],
                Nonconformance: [nc["id"] for nc in ncs],
                Hold: [h.pk for h in holds],
                # An override is signed on its ledger event (see workorders.services.orders).
                ProductionEvent: [e.id for e in events if e.override_by_id],
            }
        ),
        "lots": [
            {
                "id": lot["id"],
                "code": lot["code"],
                "kind": lot["kind"],
                "quantity": lot["quantity"],
                "produced_at": lot["produced_at"],
            }
            for lot in lots
        ],
        "edits": edits.edits_data(
            {
                WorkOrder: [order.pk],
                WorkOrderOperation: [op.pk for op in operations],
                Consumption: [c[0] for c in consumptions],
                Lot: [lot["id"] for lot in lots],
                ChecklistRun: [r["id"] for r in runs],
            },
            names,
        ),
    }
    return ProductionRecord(
        work_order=order,
        content=content,
        order_status=order.status,
        lot_status={lot["code"]: lot["status"] for lot in lots},
        required_checklists=[
            {
                "operation": op_of_routing[routing_operation_id].pk,
                "template": template,
                "trigger": trigger,
                "every_n_units": every_n_units,
            }
            for routing_operation_id, template, trigger, every_n_units in required
        ],
        workstation_codes={op.workstation_id: op.workstation.code for op in operations},
        machine_unassigned=[
            {"workstation_id": c.pk, "unassigned": c.unassigned, "last_message_at": c.last_message_at}
            for c in counters.values()
        ],
    )
