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

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property

from django.db.models import Case, F, JSONField, Q, When
from django.utils.translation import gettext, override

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
    OperationSop,
    SopAcknowledgement,
    SopVersion,
)
from quality.states import ItemKind
from traceability.models import RecordSnapshot
from traceability.record import labor, parts
from workorders.live.models import MachineCounter
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
EVENT_TIMES = ("occurred_at", "recorded_at")
EVENT_FIELDS = (
    "id", "kind", "operation_id", "workstation_id", "user_id", "override_by_id", "quantity",
    "reason__code", "reason__name", "note", "data",
)  # fmt: skip
RUN_TIMES = ("started_at", "completed_at")
RUN_FIELDS = (
    "id", "template__code", "template__title", "version__version", "operation_id", "workstation__code",
    "trigger", "status", "started_by_id", "completed_by_id", "units_at_submission",
)  # fmt: skip
RESPONSE_FIELDS = (
    "id", "run_id", "item_id", "value_text", "value_number", "value_bool", "choices", "photo",
    "in_spec", "recorded_by_id", "recorded_at_text", "supersedes_id", "correction_reason",
)  # fmt: skip
ITEM_FIELDS = ("id", "prompt", "kind", "unit", "lsl", "usl", "decimals")


def record_for(order: WorkOrder) -> ProductionRecord:
    """The production record of `order`, assembled from what is stored (see the module). Its
    words (a signature's meaning...) are the source language's whatever language is active: the
    record's hash must not depend on who reads it."""
    with override(None):
        return _assembled(order)


def _assembled(order: WorkOrder) -> ProductionRecord:
    order = WorkOrder.objects.select_related("product", "routing", "line__site").get(pk=order.pk)
    operations = list(
        WorkOrderOperation.objects.filter(work_order=order).select_related("workstation").order_by("sequence")
    )
    events = parts.with_instants(
        ProductionEvent.objects.filter(work_order=order).order_by("id"), EVENT_FIELDS, EVENT_TIMES
    )
    consumptions = list(
        Consumption.objects.filter(work_order=order)
        .select_related("lot__product", "event__user")
        .order_by("id")
    )
    lots = list(Lot.objects.filter(work_order=order).order_by("produced_at", "code"))
    runs = parts.with_instants(
        ChecklistRun.objects.filter(work_order=order).order_by("started_at", "pk"), RUN_FIELDS, RUN_TIMES
    )
    responses = list(
        ChecklistResponse.objects.filter(run__work_order=order)
        # Only a choice item's answer is shown from its choices: the others' (an empty list each)
        # are left unread rather than decoded from JSON thousands of times.
        .annotate(
            choices=Case(
                When(item__kind=ItemKind.CHOICE, then=F("value_choices")),
                default=None,
                output_field=JSONField(),
            ),
            recorded_at_text=parts.as_text("recorded_at"),
        )
        .order_by("pk")
        .values_list(*RESPONSE_FIELDS)
    )
    # The items answered, by a subquery: hundreds of ids as parameters cost more to send than to find.
    answered = ChecklistResponse.objects.filter(run__work_order=order).values("item_id")
    items = {
        i["id"]: i for i in ChecklistItem.objects.filter(pk__in=answered).order_by().values(*ITEM_FIELDS)
    }
    users = User.objects.in_bulk(
        (
            {e["user_id"] for e in events}
            | {e["override_by_id"] for e in events}
            | {r[RESPONSE_FIELDS.index("recorded_by_id")] for r in responses}
            | {r["started_by_id"] for r in runs}
            | {r["completed_by_id"] for r in runs}
        )
        - {None}
    )
    names = {pk: u.printed_name for pk, u in users.items()}
    usernames = {pk: u.username for pk, u in users.items()}
    stations = {op.workstation_id: op.workstation.code for op in operations}
    elsewhere = {e["workstation_id"] for e in events} - set(stations) - {None}
    if elsewhere:  # an event at a workstation none of the order's operations runs at
        stations |= dict(Workstation.objects.filter(pk__in=elsewhere).values_list("pk", "code"))
    responses_of: dict[int, list[tuple]] = defaultdict(list)
    for r in responses:
        responses_of[r[1]].append(r)  # by run_id
    lot_codes = [lot.code for lot in lots]
    ncs = list(
        Nonconformance.objects.filter(work_order=order)
        .select_related("opened_by", "dispositioned_by", "closed_by")
        .order_by("opened_at", "pk")
    )
    holds = list(
        Hold.objects.filter(Q(work_order=order) | Q(lot_code__in=lot_codes, work_order__isnull=True))
        .select_related("placed_by", "released_by")
        .order_by("placed_at", "pk")
    )

    by_op: dict[int, list[dict]] = defaultdict(list)
    for e in events:
        if e["operation_id"]:
            by_op[e["operation_id"]].append(e)
    last_at = {op_id: max(e["occurred_at"] for e in evs) for op_id, evs in by_op.items()}
    routing_ops = [op.routing_operation_id for op in operations if op.routing_operation_id]
    people_by_op = {op_id: {e["user_id"] for e in evs} for op_id, evs in by_op.items()}

    required = list(
        OperationChecklist.objects.filter(routing_operation_id__in=routing_ops).select_related("template")
    )
    op_of_routing = {op.routing_operation_id: op for op in operations if op.routing_operation_id}
    op_sops = list(
        OperationSop.objects.filter(routing_operation_id__in=routing_ops).select_related("document")
    )
    versions = list(
        SopVersion.objects.filter(
            document_id__in={s.document_id for s in op_sops}, effective_at__isnull=False
        ).order_by("document_id", "version")
    )
    people = set().union(*people_by_op.values()) if people_by_op else set()
    acks = list(
        SopAcknowledgement.objects.filter(version__in=versions, user_id__in=people).select_related("user")
    )
    counters = list(
        MachineCounter.objects.filter(
            workstation_id__in={op.workstation_id for op in operations}, unassigned__gt=0
        )
    )

    sops = parts.sops_data(op_sops, op_of_routing, versions, acks, by_op, names)
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
        "events": [parts.event_data(e, names, usernames, stations) for e in events],
        "downtime": downtime,
        "labor": labor.labor_data(order),
        "materials": [
            {
                "id": c.pk,
                "lot": c.lot.code,
                "part_number": c.lot.product.part_number,
                "quantity": c.quantity,
                "unit": c.lot.product.unit,
                "operation": c.operation_id,
                "by": parts.person(c.event.user),
                "at": c.event.occurred_at,
            }
            for c in consumptions
        ],
        "checklist_runs": [parts.run_data(r, responses_of[r["id"]], items, names) for r in runs],
        "sops": sops,
        "nonconformances": [
            {
                "id": nc.pk,
                "number": nc.number,
                "title": nc.title,
                "status": nc.status,
                "operation": nc.operation_id,
                "response": nc.response_id,
                "lot": nc.lot_code,
                "opened_by": parts.person(nc.opened_by),
                "opened_at": nc.opened_at,
                "disposition": nc.disposition,
                "disposition_note": nc.disposition_note,
                "dispositioned_by": parts.person(nc.dispositioned_by),
                "dispositioned_at": nc.dispositioned_at,
                "closed_at": nc.closed_at,
            }
            for nc in ncs
        ],
        "holds": [
            {
                "id": h.pk,
                "target": h.target_label if h.work_order_id is None else f"order {order.number}",
                "reason": h.reason,
                "status": h.status,
                "placed_by": parts.person(h.placed_by),
                "placed_at": h.placed_at,
                "released_by": parts.person(h.released_by),
                "released_at": h.released_at,
                "release_reason": h.release_reason,
            }
            for h in holds
        ],
        "signatures": parts.signatures_data(
            {
                ChecklistRun: [r["id"] for r in runs],
                Nonconformance: [n.pk for n in ncs],
                Hold: [h.pk for h in holds],
                # An override is signed on its ledger event (see workorders.services.orders).
                ProductionEvent: [e["id"] for e in events if e["override_by_id"]],
            }
        ),
        "lots": [
            {
                "id": lot.pk,
                "code": lot.code,
                "kind": lot.kind,
                "quantity": lot.quantity,
                "produced_at": lot.produced_at,
            }
            for lot in lots
        ],
        "edits": parts.edits_data(
            {
                WorkOrder: [order.pk],
                WorkOrderOperation: [op.pk for op in operations],
                Consumption: [c.pk for c in consumptions],
                Lot: [lot.pk for lot in lots],
                ChecklistRun: [r["id"] for r in runs],
            },
            names,
        ),
    }
    return ProductionRecord(
        work_order=order,
        content=content,
        order_status=order.status,
        lot_status={lot.code: lot.status for lot in lots},
        required_checklists=[
            {
                "operation": op_of_routing[r.routing_operation_id].pk,
                "template": r.template.code,
                "trigger": r.trigger,
                "every_n_units": r.every_n_units,
            }
            for r in required
        ],
        workstation_codes={op.workstation_id: op.workstation.code for op in operations},
        machine_unassigned=[
            {"workstation_id": c.pk, "unassigned": c.unassigned, "last_message_at": c.last_message_at}
            for c in counters
        ],
    )
