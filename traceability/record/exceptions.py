"""Review by exception: what in an order's record departs from the normal run, computed from it.

Each exception has a stable key (its kind and the id of its evidence), so a reviewer's comment
stays attached to it while the record is assembled again and again, and a link to its evidence in
the record (an anchor of the record page, and the model and id for the JSON). A record with none
says so explicitly (`summary`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from decimal import Decimal

from quality.states import Disposition, NonconformanceStatus, RunStatus, Trigger
from traceability.record.selectors import ProductionRecord
from workorders.states import EventKind, WorkOrderStatus

# A tap recorded this long after it was made came from a tablet that was offline; one made
# "later" than it was recorded came from a tablet whose clock runs ahead. The ledger accepts
# both within limits; the reviewer sees them.
OFFLINE_AFTER = timedelta(minutes=2)

KINDS = {
    "out_of_spec": "Out-of-spec value",
    "override": "Override",
    "checklist_missing": "Missing checklist",
    "checklist_late": "Late checklist",
    "nonconformance_open": "Open nonconformance",
    "nonconformance_dispositioned": "Dispositioned nonconformance",
    "hold": "Hold",
    "edit": "Edit after the fact",
    "machine_counts": "Machine counts without an operation",
    "offline_tap": "Offline or clock-skewed tap",
}


@dataclass(frozen=True)
class RecordException:
    key: str
    kind: str
    title: str
    detail: str
    evidence: str  # the anchor of the evidence on the record page
    model: str
    record_id: int | str

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    def as_dict(self) -> dict:
        return {**asdict(self), "kind_label": self.kind_label}


def exceptions_for(record: ProductionRecord) -> list[RecordException]:
    """Every exception of the record, in the order of KINDS, then by the evidence's time."""
    c = record.content
    found: list[RecordException] = []
    found += _out_of_spec(c)
    found += _overrides(c)
    found += _checklists(record)
    found += _nonconformances(c)
    found += _holds(c)
    found += _edits(c)
    found += _machine_counts(record)
    found += _offline_taps(c)
    return found


def summary(exceptions: list[RecordException]) -> str:
    if not exceptions:
        return "No exceptions: the record shows a normal run."
    return f"{len(exceptions)} exception{'s' if len(exceptions) != 1 else ''} to review."


def _out_of_spec(c: dict) -> list[RecordException]:
    out = []
    for run in c["checklist_runs"]:
        for r in run["responses"]:
            if r["in_spec"] is False:
                limits = f"{_num(r['lsl'])} … {_num(r['usl'])} {r['unit']}".strip()
                out.append(
                    RecordException(
                        key=f"out_of_spec:{r['id']}",
                        kind="out_of_spec",
                        title=f"{run['template']} · {r['item']}: {r['value']}",
                        detail=f"Limits {limits}; recorded by {r['by']}.",
                        evidence=f"run-{run['id']}",
                        model="quality.checklistresponse",
                        record_id=r["id"],
                    )
                )
    return out


def _overrides(c: dict) -> list[RecordException]:
    out = []
    order = c["order"]
    signed = {s["record_id"]: s for s in c["signatures"] if s["record"] == "workorders.productionevent"}
    for e in c["events"]:
        if e["kind"] == EventKind.ORDER_STATUS and e["data"].get("override") is not None:
            out.append(_signed_override(e, signed.get(str(e["id"]))))
        elif e["override_by"]:
            out.append(
                RecordException(
                    key=f"override:{e['id']}",
                    kind="override",
                    title=f"Over-quantity: {_num(e['quantity'])} recorded beyond the order quantity",
                    detail=f"Allowed by {e['override_by']}; recorded by {e['by']}.",
                    evidence=f"event-{e['id']}",
                    model="workorders.productionevent",
                    record_id=e["id"],
                )
            )
        elif (
            e["kind"] == EventKind.ORDER_STATUS
            and e["data"].get("to") == WorkOrderStatus.COMPLETED
            and order["quantity_good"] < order["quantity"]
        ):
            out.append(
                RecordException(
                    key=f"override:{e['id']}",
                    kind="override",
                    title=f"Completed short: {_num(order['quantity_good'])} of {_num(order['quantity'])} good",
                    detail=f"By {e['by']}: {e['note'] or 'no reason given'}.",
                    evidence=f"event-{e['id']}",
                    model="workorders.productionevent",
                    record_id=e["id"],
                )
            )
    return out


def _signed_override(e: dict, signature: dict | None) -> RecordException:
    """An order completed by a supervisor's signed override: what it went past, who signed and
    why; its evidence is the signature (the ledger event when the signature is missing)."""
    override = e["data"]["override"]
    refused = "; ".join(r["message"] for r in override.get("refusals", []))
    good, quantity = _num(override.get("quantity_good")), _num(override.get("quantity"))
    title = f"Completed by override, {good} of {quantity} good"
    title += f" — over: {refused}" if refused else ""
    if signature is None:
        signed = "No signature found for it."
    else:
        signed = f"Signed {signature['meaning'].lower()} by {signature['printed_name']} on {signature['signed_at']:%Y-%m-%d %H:%M:%S} UTC."
    return RecordException(
        key=f"override:{e['id']}",
        kind="override",
        title=title,
        detail=f"By {e['override_by'] or e['by']}: {e['note'] or 'no reason given'}. {signed}",
        evidence=f"sig-{signature['id']}" if signature else f"event-{e['id']}",
        model="mes.signature" if signature else "workorders.productionevent",
        record_id=signature["id"] if signature else e["id"],
    )


def _checklists(record: ProductionRecord) -> list[RecordException]:
    c = record.content
    ops = {op["id"]: op for op in c["operations"]}
    completions: dict[int, list] = {}
    for e in c["events"]:
        if e["kind"] == EventKind.COMPLETE and e["operation"]:
            completions.setdefault(e["operation"], []).append(e["occurred_at"])
    out = []
    for req in record.required_checklists:
        op = ops[req["operation"]]
        if op["started_at"] is None:
            continue  # never ran: nothing was due
        runs = [
            r
            for r in c["checklist_runs"]
            if r["operation"] == op["id"]
            and r["template"] == req["template"]
            and r["status"] == RunStatus.COMPLETED
        ]
        key = f"{op['id']}:{req['template']}:{req['trigger']}"
        where = f"{req['template']} at operation {op['sequence']} {op['name']}"
        trigger = Trigger(req["trigger"])
        due = 1
        if trigger == Trigger.EVERY_N_UNITS:
            units = op["quantity_good"] + op["quantity_scrap"]
            due = int(units // Decimal(req["every_n_units"] or 1))
        elif trigger == Trigger.AT_COMPLETION and op["id"] not in completions:
            due = 0
        if len(runs) < due:
            out.append(
                RecordException(
                    key=f"checklist_missing:{key}",
                    kind="checklist_missing",
                    title=f"{where}: {len(runs)} of {due} done",
                    detail=f"Required {trigger.label.lower()}.",
                    evidence=f"op-{op['id']}",
                    model="workorders.workorderoperation",
                    record_id=op["id"],
                )
            )
        deadline = None
        if trigger == Trigger.AT_START:
            deadline = op["started_at"]
        elif trigger == Trigger.AT_COMPLETION and op["id"] in completions:
            deadline = max(completions[op["id"]])
        for run in runs:
            if deadline is not None and run["completed_at"] > deadline:
                out.append(
                    RecordException(
                        key=f"checklist_late:{run['id']}",
                        kind="checklist_late",
                        title=f"{where}: done after it was due",
                        detail=f"Due by {deadline:%Y-%m-%d %H:%M} UTC, done {run['completed_at']:%Y-%m-%d %H:%M} UTC "
                        f"by {run['completed_by']}.",
                        evidence=f"run-{run['id']}",
                        model="quality.checklistrun",
                        record_id=run["id"],
                    )
                )
    return out


def _nonconformances(c: dict) -> list[RecordException]:
    out = []
    for nc in c["nonconformances"]:
        if nc["status"] in (NonconformanceStatus.OPEN, NonconformanceStatus.INVESTIGATING):
            kind, detail = "nonconformance_open", f"Opened by {nc['opened_by']}; not dispositioned yet."
        else:
            label = Disposition(nc["disposition"]).label if nc["disposition"] else "—"
            kind = "nonconformance_dispositioned"
            detail = f"{label} by {nc['dispositioned_by']}: {nc['disposition_note'] or 'no note'}."
        out.append(
            RecordException(
                key=f"nonconformance:{nc['id']}",
                kind=kind,
                title=f"{nc['number']} {nc['title']}",
                detail=detail,
                evidence=f"nc-{nc['id']}",
                model="quality.nonconformance",
                record_id=nc["id"],
            )
        )
    return out


def _holds(c: dict) -> list[RecordException]:
    return [
        RecordException(
            key=f"hold:{h['id']}",
            kind="hold",
            title=f"Hold on {h['target']} ({h['status']})",
            detail=f"Placed by {h['placed_by']}: {h['reason']}"
            + (f"; released by {h['released_by']}: {h['release_reason']}" if h["released_by"] else ""),
            evidence=f"hold-{h['id']}",
            model="quality.hold",
            record_id=h["id"],
        )
        for h in c["holds"]
    ]


def _edits(c: dict) -> list[RecordException]:
    out = [
        RecordException(
            key=f"edit:{e['record']}:{e['history_id']}",
            kind="edit",
            title=f"{e['record']} #{e['record_id']}: {', '.join(e['fields'])} changed",
            detail=f"By {e['by']}; reason: {e['reason'] or 'none given'}.",
            evidence=f"edit-{e['history_id']}",
            model=e["record"],
            record_id=e["record_id"],
        )
        for e in c["edits"]
    ]
    for run in c["checklist_runs"]:
        for r in run["responses"]:
            if r["supersedes"]:
                out.append(
                    RecordException(
                        key=f"edit:quality.checklistresponse:{r['id']}",
                        kind="edit",
                        title=f"{run['template']} · {r['item']} corrected to {r['value']}",
                        detail=f"By {r['by']}; reason: {r['correction_reason'] or 'none given'}.",
                        evidence=f"run-{run['id']}",
                        model="quality.checklistresponse",
                        record_id=r["id"],
                    )
                )
    return out


def _machine_counts(record: ProductionRecord) -> list[RecordException]:
    started = [op["started_at"] for op in record.content["operations"] if op["started_at"]]
    if not started:
        return []
    first = min(started)
    out = []
    for counter in record.machine_unassigned:
        # The counter keeps what its machine counted while nothing ran, since ever: it concerns this
        # order when the machine reported during or after the order's run.
        if counter["last_message_at"] is None or counter["last_message_at"] < first:
            continue
        code = record.workstation_codes.get(counter["workstation_id"], str(counter["workstation_id"]))
        out.append(
            RecordException(
                key=f"machine_counts:{counter['workstation_id']}",
                kind="machine_counts",
                title=f"{code}: {_num(counter['unassigned'])} counted with no operation running",
                detail="The machine counted parts that were booked to no operation; check they are not this order's.",
                evidence="operations",
                model="mes.workstation",
                record_id=counter["workstation_id"],
            )
        )
    return out


def _offline_taps(c: dict) -> list[RecordException]:
    out = []
    for e in c["events"]:
        lag = e["recorded_at"] - e["occurred_at"]
        if lag > OFFLINE_AFTER:
            what = f"recorded {_duration(lag)} after it was made (offline tablet)"
        elif lag < timedelta(0):
            what = f"made {_duration(-lag)} after it was recorded (the tablet's clock runs ahead)"
        else:
            continue
        out.append(
            RecordException(
                key=f"offline_tap:{e['id']}",
                kind="offline_tap",
                title=f"{e['kind'].replace('_', ' ')} at {e['workstation'] or 'the order'} by {e['by']}",
                detail=f"The tap was {what}.",
                evidence=f"event-{e['id']}",
                model="workorders.productionevent",
                record_id=e["id"],
            )
        )
    return out


def _num(value) -> str:
    if value is None:
        return "—"
    return format(Decimal(value).normalize(), "f")


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
