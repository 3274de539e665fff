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
from operator import itemgetter

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, Subquery
from django.utils.translation import gettext, override

from mes.compiled import Compiled
from mes.errors import NotFound
from mes.models import User, Workstation
from mes.selectors import records_visible_to
from quality.models import (
    ChecklistItem,
    ChecklistResponse,
    ChecklistRun,
    Hold,
    Nonconformance,
    OperationChecklist,
)
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
# Ledger events are read as dicts of `parts.EVENT_COLUMNS` and made into the record's dicts once;
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
_RECORDED_BY = RESPONSE_FIELDS.index("recorded_by_id")
ITEM_FIELDS = ("id", "prompt", "kind", "unit", "lsl", "usl", "decimals")
CONSUMPTION_FIELDS = (
    "id", "lot__code", "lot__product__part_number", "quantity", "lot__product__unit", "operation_id",
    "event__user_id", "event__occurred_at",
)  # fmt: skip
LOT_FIELDS = ("id", "code", "kind", "quantity", "produced_at", "status")
NONCONFORMANCE_FIELDS = (
    "id", "number", "title", "status", "operation_id", "response_id", "lot_code", "opened_by_id",
    "opened_at", "disposition", "disposition_note", "dispositioned_by_id", "dispositioned_at", "closed_at",
)  # fmt: skip


# The reads of an order's own rows, each by the order's id alone: compiled once (`Compiled`), since
# building and compiling them cost as much as running them. What they need of one another (the
# order's checklist runs, lots and routing operations) is read by a subquery of the order's rows
# rather than passed as a list of ids.


def _runs_of(order_id: int):
    return ChecklistRun.objects.filter(work_order_id=order_id).order_by()


def _responses_of(order_id: int):
    return ChecklistResponse.objects.filter(
        # By the runs' ids: the planner finds them by the index on the run, where joining the runs
        # to pick the order's could make it read every response of the plant.
        run_id__in=Subquery(_runs_of(order_id).values("id"))
    )


def _holds_of(order_id: int):
    """The order's holds and those on the lots it made."""
    return Hold.objects.filter(
        Q(work_order_id=order_id)
        | Q(
            lot_code__in=Subquery(Lot.objects.filter(work_order_id=order_id).order_by().values("code")),
            work_order__isnull=True,
        )
    )


_ORDER = Compiled(
    lambda order_id: (
        parts.with_routing_revision(WorkOrder.objects.select_related("product", "routing", "line__site"))
        .filter(pk=order_id)
        .order_by()
    ),
    "order_id",
)
# With their workstations' sites, as the labor part reads them (see `labor.labor_data`), and
# their machine counters.
_OPERATIONS = Compiled(
    lambda order_id: (
        WorkOrderOperation.objects.filter(work_order_id=order_id)
        .select_related("workstation__line__site", "workstation__machine_counter")
        .order_by("sequence")
    ),
    "order_id",
)
_EVENTS = Compiled(
    lambda order_id: (
        ProductionEvent.objects.filter(work_order_id=order_id)
        .annotate(**{text: parts.as_text(name) for text, name in parts.EVENT_TEXTS.items()})
        .order_by()  # sorted by id once read (`_assembled`)
        .values(*parts.EVENT_COLUMNS)
    ),
    "order_id",
)
_CONSUMPTIONS = Compiled(
    lambda order_id: (
        Consumption.objects.filter(work_order_id=order_id).order_by("id").values(*CONSUMPTION_FIELDS)
    ),
    "order_id",
)
_LOTS = Compiled(
    lambda order_id: (
        Lot.objects.filter(work_order_id=order_id).order_by("produced_at", "code").values(*LOT_FIELDS)
    ),
    "order_id",
)
_RUNS = Compiled(
    lambda order_id: parts.values_with_texts(
        _runs_of(order_id).order_by("started_at", "pk"), RUN_FIELDS, RUN_TIMES
    ),
    "order_id",
)


# The responses of the order's runs as tuples of `RESPONSE_FIELDS`.
_RESPONSES = Compiled(
    lambda order_id: (
        _responses_of(order_id)
        # The choices are read as text, decoded for a choice item's answer only (`parts.run_data`):
        # a JSON column would have Django convert every row, and telling the choice items' answers
        # apart here would join every response to its item.
        .annotate(choices_text=parts.as_text("value_choices"), recorded_at_text=parts.as_text("recorded_at"))
        .order_by()  # sorted by id once read (`_assembled`)
        .values_list(*RESPONSE_FIELDS)
    ),
    "order_id",
)


# The items the responses answer, once each: repeated on each of thousands of responses, their
# columns cost more to read than a query of their own. A response answers an item of its run's
# version (see `quality.services.runs`): the items are read by the runs' versions, which costs the
# database far less than collecting the responses' items.
_ITEMS = Compiled(
    lambda order_id: (
        ChecklistItem.objects.filter(version_id__in=Subquery(_runs_of(order_id).values("version_id")))
        .order_by()
        .values_list(*ITEM_FIELDS)
    ),
    "order_id",
)


def _items(order_id: int, responses: list[tuple]) -> dict[int, tuple]:
    """The items the order's `responses` answer, as tuples of `ITEM_FIELDS` by id (see `_ITEMS`);
    one that is not of its run's version (written by other means than the services) is read by
    its id."""
    items = {item[0]: item for item in _ITEMS.all(order_id=order_id)}
    others = {r[2] for r in responses} - items.keys()  # by item_id
    if others:
        items |= {
            item[0]: item for item in ChecklistItem.objects.filter(pk__in=others).values_list(*ITEM_FIELDS)
        }
    return items


_NONCONFORMANCES = Compiled(
    lambda order_id: (
        Nonconformance.objects.filter(work_order_id=order_id)
        .order_by("opened_at", "pk")
        .values(*NONCONFORMANCE_FIELDS)
    ),
    "order_id",
)
# The models of the order's records a signature is kept on, by the name of the argument of
# `_SIGNATURES` that gives the model's content type id: given as a value, the planner reads each
# model's signatures by their index from the order's records.
_SIGNED = {
    "run_type": ChecklistRun,
    "nonconformance_type": Nonconformance,
    "hold_type": Hold,
    "event_type": ProductionEvent,
}


def _signatures_of(order_id: int, run_type: int, nonconformance_type: int, hold_type: int, event_type: int):
    return parts.signatures_of(
        {
            run_type: _runs_of(order_id),
            nonconformance_type: Nonconformance.objects.filter(work_order_id=order_id),
            hold_type: _holds_of(order_id),
            # An override is signed on its ledger event (see workorders.services.orders).
            event_type: ProductionEvent.objects.filter(work_order_id=order_id, override_by__isnull=False),
        }
    )


_SIGNATURES = Compiled(_signatures_of, "order_id", *_SIGNED)
_HOLDS = Compiled(lambda order_id: _holds_of(order_id).order_by("placed_at", "pk"), "order_id")
# The checklists the order's routing operations required.
_REQUIRED = Compiled(
    lambda order_id: OperationChecklist.objects.filter(
        routing_operation_id__in=Subquery(
            WorkOrderOperation.objects.filter(work_order_id=order_id, routing_operation__isnull=False)
            .order_by()
            .values("routing_operation_id")
        )
    ).values("routing_operation_id", "template__code", "trigger", "every_n_units"),
    "order_id",
)


# The people a record names, by their ids.
_USERS = Compiled(
    lambda ids: User.objects.filter(pk__in=ids).order_by().only("id", "username", "first_name", "last_name"),
    "ids",
)


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
    order_id = order.pk
    found = _ORDER.all(order_id=order_id)
    if not found:
        raise WorkOrder.DoesNotExist(f"No work order {order_id}.")
    order = found[0]
    operations = _OPERATIONS.all(order_id=order_id)
    for op in operations:
        op.work_order = order
    # The many events and responses are sorted by id here: the database's sort of their wide rows
    # cost more than Python's of rows it returns almost in order.
    events = sorted(_EVENTS.all(order_id=order_id), key=itemgetter("id"))
    consumptions = _CONSUMPTIONS.all(order_id=order_id)
    lots = _LOTS.all(order_id=order_id)
    runs = parts.parse_instants(_RUNS.all(order_id=order_id), RUN_TIMES)
    responses = sorted(_RESPONSES.all(order_id=order_id), key=itemgetter(0))
    items = _items(order_id, responses)
    ncs = _NONCONFORMANCES.all(order_id=order_id)
    holds = _HOLDS.all(order_id=order_id)
    required = _REQUIRED.all(order_id=order_id)

    occurred = [parts.instant(e["occurred_at_text"]) for e in events]
    last_at: dict[int, datetime] = {}
    people_by_op: dict[int, set[int]] = defaultdict(set)
    for e, at in zip(events, occurred, strict=True):
        operation_id = e["operation_id"]
        if operation_id:
            people_by_op[operation_id].add(e["user_id"])
            if operation_id not in last_at or at > last_at[operation_id]:
                last_at[operation_id] = at
    op_of_routing = {op.routing_operation_id: op for op in operations if op.routing_operation_id}
    op_sops, versions, acks = parts.operation_sops(order_id)
    counters = {}  # the workstations' counters that kept counts no operation was running for
    for op in operations:
        counter = getattr(op.workstation, "machine_counter", None)  # None: the machine has none
        if counter is not None and counter.unassigned > 0:
            counters[op.workstation_id] = counter

    types = {name: ContentType.objects.get_for_model(model).pk for name, model in _SIGNED.items()}
    signed_models = {types[name]: model for name, model in _SIGNED.items()}

    # Everyone the record names, in one query.
    users = {
        u.pk: u
        for u in _USERS.all(
            ids=(
                {e["user_id"] for e in events}
                | {e["override_by_id"] for e in events}
                | {r[_RECORDED_BY] for r in responses}
                | {r["started_by_id"] for r in runs}
                | {r["completed_by_id"] for r in runs}
                | {c["event__user_id"] for c in consumptions}
                | {nc["opened_by_id"] for nc in ncs}
                | {nc["dispositioned_by_id"] for nc in ncs}
                | {h.placed_by_id for h in holds}
                | {h.released_by_id for h in holds}
                | {a["user_id"] for a in acks}
            )
            - {None}
        )
    }
    names = {pk: u.printed_name for pk, u in users.items()}
    usernames = {pk: u.username for pk, u in users.items()}
    stations = {op.workstation_id: op.workstation.code for op in operations}
    elsewhere = {e["workstation_id"] for e in events} - set(stations) - {None}
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
                "id": c["id"],
                "lot": c["lot__code"],
                "part_number": c["lot__product__part_number"],
                "quantity": c["quantity"],
                "unit": c["lot__product__unit"],
                "operation": c["operation_id"],
                "by": name(c["event__user_id"]),
                "at": c["event__occurred_at"],
            }
            for c in consumptions
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
        "signatures": parts.signatures_data(_SIGNATURES.all(order_id=order_id, **types), signed_models),
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
                Consumption: [c["id"] for c in consumptions],
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
                "operation": op_of_routing[r["routing_operation_id"]].pk,
                "template": r["template__code"],
                "trigger": r["trigger"],
                "every_n_units": r["every_n_units"],
            }
            for r in required
        ],
        workstation_codes={op.workstation_id: op.workstation.code for op in operations},
        machine_unassigned=[
            {"workstation_id": c.pk, "unassigned": c.unassigned, "last_message_at": c.last_message_at}
            for c in counters.values()
        ],
    )
