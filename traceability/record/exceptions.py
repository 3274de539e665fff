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

from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from quality.states import Disposition, NonconformanceStatus, RunStatus, Trigger
from traceability.record.selectors import ProductionRecord
from workorders.states import EventKind, WorkOrderStatus

# A tap recorded this long after it was made came from a tablet that was offline; one made
# "later" than it was recorded came from a tablet whose clock runs ahead. The ledger accepts
# both within limits; the reviewer sees them.
OFFLINE_AFTER = timedelta(minutes=2)

KINDS = {
    "out_of_spec": _("Out-of-spec value"),
    "override": _("Override"),
    "checklist_missing": _("Missing checklist"),
    "checklist_late": _("Late checklist"),
    "nonconformance_open": _("Open nonconformance"),
    "nonconformance_dispositioned": _("Dispositioned nonconformance"),
    "hold": _("Hold"),
    "edit": _("Edit after the fact"),
    "machine_counts": _("Machine counts without an operation"),
    "offline_tap": _("Offline or clock-skewed tap"),
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
        return str(KINDS[self.kind])

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
        return gettext("No exceptions: the record shows a normal run.")
    n = len(exceptions)
    return ngettext("%(count)d exception to review.", "%(count)d exceptions to review.", n) % {"count": n}


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
                        detail=gettext("Limits %(limits)s; recorded by %(by)s.")
                        % {"limits": limits, "by": r["by"]},
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
                    title=gettext("Over-quantity: %(quantity)s recorded beyond the order quantity")
                    % {"quantity": _num(e["quantity"])},
                    detail=gettext("Allowed by %(override_by)s; recorded by %(by)s.")
                    % {"override_by": e["override_by"], "by": e["by"]},
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
                    title=gettext("Completed short: %(good)s of %(quantity)s good")
                    % {"good": _num(order["quantity_good"]), "quantity": _num(order["quantity"])},
                    detail=gettext("By %(by)s: %(note)s.")
                    % {"by": e["by"], "note": e["note"] or gettext("no reason given")},
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
    title = gettext("Completed by override, %(good)s of %(quantity)s good") % {
        "good": good,
        "quantity": quantity,
    }
    title += gettext(" — over: %(refused)s") % {"refused": refused} if refused else ""
    if signature is None:
        signed = gettext("No signature found for it.")
    else:
        signed = gettext("Signed %(meaning)s by %(name)s on %(at)s UTC.") % {
            "meaning": signature["meaning"].lower(),
            "name": signature["printed_name"],
            "at": f"{signature['signed_at']:%Y-%m-%d %H:%M:%S}",
        }
    return RecordException(
        key=f"override:{e['id']}",
        kind="override",
        title=title,
        detail=gettext("By %(by)s: %(note)s.")
        % {"by": e["override_by"] or e["by"], "note": e["note"] or gettext("no reason given")}
        + f" {signed}",
        evidence=f"sig-{signature['id']}" if signature else f"event-{e['id']}",
        model="mes.signature" if signature else "workorders.productionevent",
        record_id=signature["id"] if signature else e["id"],
    )


def _checklists(record: ProductionRecord) -> list[RecordException]:
    c = record.content
    ops = {op["id"]: op for op in c["operations"]}
    completions: dict[int, list] = {}
    for e in c["events"]:
        if e["kind"] == EventKind.GOOD and e["operation"]:
            completions.setdefault(e["operation"], []).append(e["occurred_at"])
    completed: dict[tuple, list[dict]] = {}  # by operation and template
    for r in c["checklist_runs"]:
        if r["status"] == RunStatus.COMPLETED:
            completed.setdefault((r["operation"], r["template"]), []).append(r)
    out = []
    for req in record.required_checklists:
        op = ops[req["operation"]]
        if op["started_at"] is None:
            continue  # never ran: nothing was due
        runs = completed.get((op["id"], req["template"]), [])
        key = f"{op['id']}:{req['template']}:{req['trigger']}"
        where = gettext("%(template)s at operation %(sequence)s %(name)s") % {
            "template": req["template"],
            "sequence": op["sequence"],
            "name": op["name"],
        }
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
                    title=gettext("%(where)s: %(done)s of %(due)s done")
                    % {"where": where, "done": len(runs), "due": due},
                    detail=gettext("Required %(trigger)s.") % {"trigger": trigger.label.lower()},
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
                        title=gettext("%(where)s: done after it was due") % {"where": where},
                        detail=gettext("Due by %(due)s UTC, done %(done)s UTC by %(by)s.")
                        % {
                            "due": f"{deadline:%Y-%m-%d %H:%M}",
                            "done": f"{run['completed_at']:%Y-%m-%d %H:%M}",
                            "by": run["completed_by"],
                        },
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
            kind, detail = (
                "nonconformance_open",
                gettext("Opened by %(by)s; not dispositioned yet.") % {"by": nc["opened_by"]},
            )
        else:
            label = Disposition(nc["disposition"]).label if nc["disposition"] else "—"
            kind = "nonconformance_dispositioned"
            detail = gettext("%(disposition)s by %(by)s: %(note)s.") % {
                "disposition": label,
                "by": nc["dispositioned_by"],
                "note": nc["disposition_note"] or gettext("no note"),
            }
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
            title=gettext("Hold on %(target)s (%(status)s)") % {"target": h["target"], "status": h["status"]},
            detail=gettext("Placed by %(by)s: %(reason)s") % {"by": h["placed_by"], "reason": h["reason"]}
            + (
                gettext("; released by %(by)s: %(reason)s")
                % {"by": h["released_by"], "reason": h["release_reason"]}
                if h["released_by"]
                else ""
            ),
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
            title=gettext("%(record)s #%(id)s: %(fields)s changed")
            % {"record": e["record"], "id": e["record_id"], "fields": ", ".join(e["fields"])},
            detail=gettext("By %(by)s; reason: %(reason)s.")
            % {"by": e["by"], "reason": e["reason"] or gettext("none given")},
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
                        title=gettext("%(template)s · %(item)s corrected to %(value)s")
                        % {"template": run["template"], "item": r["item"], "value": r["value"]},
                        detail=gettext("By %(by)s; reason: %(reason)s.")
                        % {"by": r["by"], "reason": r["correction_reason"] or gettext("none given")},
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
                title=gettext("%(code)s: %(count)s counted with no operation running")
                % {"code": code, "count": _num(counter["unassigned"])},
                detail=gettext(
                    "The machine counted parts that were booked to no operation; check they are not this order's."
                ),
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
            what = gettext("recorded %(duration)s after it was made (offline tablet)") % {
                "duration": _duration(lag)
            }
        elif lag < timedelta(0):
            what = gettext("made %(duration)s after it was recorded (the tablet's clock runs ahead)") % {
                "duration": _duration(-lag)
            }
        else:
            continue
        out.append(
            RecordException(
                key=f"offline_tap:{e['id']}",
                kind="offline_tap",
                title=gettext("%(kind)s at %(where)s by %(by)s")
                % {
                    "kind": e["kind"].replace("_", " "),
                    "where": e["workstation"] or gettext("the order"),
                    "by": e["by"],
                },
                detail=gettext("The tap was %(what)s.") % {"what": what},
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
