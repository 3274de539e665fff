"""Read side of the live picture: dashboard snapshots, deltas, the hourly chart.

It sits in the live package, above the projection it reads and below the broadcast that sends
its deltas; `workorders.selectors` (OEE) stays below the live package.

Figures are computed from the status rows at the moment of reading (`now`): the shift window's
counts, open downtime running until now, and OEE = A x P x Q over the window so far, with the
same rules as `workorders.selectors.oee` (off shift, the elapsed time counts as planned time).
A snapshot runs a fixed number of queries per site or line, whatever the number of workstations.

Longer than most modules on purpose: a delta is a snapshot of the lines a change touched, built
by the same `line_summaries`, so snapshots, deltas and the rows they read stay in one place.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from mes.compiled import Compiled
from mes.models import Line, Site, Workstation
from mes.selectors import sites_visible_to
from workorders.extensions import line_figures
from workorders.live.models import AndonCall, LineStatus, WorkstationStatus
from workorders.live.projection import OPEN_ANDON, Window, status_window
from workorders.live.states import SEVERITY, LiveState
from workorders.models import ProductionEvent, WorkOrderOperation, order_progress_percent
from workorders.selectors.oee import Oee, oee_for_line
from workorders.states import EventKind, OperationStatus, kind_word

ZERO = Decimal("0")
EVENTS_SHOWN = 15
# What a summary reads of each workstation and what it works on, as plain values: a busy line's
# summary is built for every delta, and building model instances (stations, status rows, orders,
# products, operations) for each station would cost more than everything else in it.
_STATUS = "live_status__"
SUMMARY_COLUMNS = (
    "pk",
    "code",
    "name",
    "line_id",
    *(f"{_STATUS}{field.name}" for field in WorkstationStatus._meta.concrete_fields),
    f"{_STATUS}work_order__number",
    f"{_STATUS}work_order__quantity",
    f"{_STATUS}work_order__quantity_good",
    f"{_STATUS}work_order__product__part_number",
    f"{_STATUS}operation__sequence",
    f"{_STATUS}operation__name",
    f"{_STATUS}downtime_reason__code",
    f"{_STATUS}downtime_reason__name",
)


@dataclass(frozen=True, slots=True)
class SummaryOrder:
    """What a summary shows of the order a workstation counts for."""

    number: str
    quantity: Decimal
    quantity_good: Decimal
    part_number: str

    @property
    def progress_percent(self) -> int:
        return order_progress_percent(self.quantity_good, self.quantity)


@dataclass(frozen=True, slots=True)
class StationRow:
    """A workstation's status row as a summary reads it (the fields `row_oee` and the summary use)."""

    state: str
    operation_state: str
    window_start: datetime | None
    good: Decimal
    scrap: Decimal
    ideal_seconds: float
    stop_seconds: float
    planned_down_seconds: float
    downtime_since: datetime | None
    downtime_planned: bool
    downtime_reason_code: str
    downtime_reason_name: str
    andon_open: int
    last_event_at: datetime | None
    order: SummaryOrder | None
    operation_label: str

    @classmethod
    def from_values(cls, values: dict) -> StationRow | None:
        """The row from one `SUMMARY_COLUMNS` values dict; None for a station without a status row."""
        if values[f"{_STATUS}workstation"] is None:
            return None
        get = lambda name: values[_STATUS + name]  # noqa: E731
        order = None
        if get("work_order") is not None:
            order = SummaryOrder(
                get("work_order__number"),
                get("work_order__quantity"),
                get("work_order__quantity_good"),
                get("work_order__product__part_number"),
            )
        operation = ""
        if get("operation") is not None:
            operation = f"{get('operation__sequence')} {get('operation__name')}"
        return cls(
            state=get("state"),
            operation_state=get("operation_state"),
            window_start=get("window_start"),
            good=get("good"),
            scrap=get("scrap"),
            ideal_seconds=get("ideal_seconds"),
            stop_seconds=get("stop_seconds"),
            planned_down_seconds=get("planned_down_seconds"),
            downtime_since=get("downtime_since"),
            downtime_planned=get("downtime_planned"),
            downtime_reason_code=get("downtime_reason__code") or "",
            downtime_reason_name=get("downtime_reason__name") or "",
            andon_open=get("andon_open"),
            last_event_at=get("last_event_at"),
            order=order,
            operation_label=operation,
        )


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def row_oee(row: WorkstationStatus | None, window: Window, now: datetime) -> Oee:
    """OEE of one workstation over its window up to `now`, from its status row alone."""
    current = row is not None and row.window_start == window.start
    good = row.good if current else ZERO
    scrap = row.scrap if current else ZERO
    ideal = row.ideal_seconds if current else 0.0
    stop = row.stop_seconds if current else 0.0
    planned_down = row.planned_down_seconds if current else 0.0
    end = min(now, window.end)
    elapsed = max(0.0, (end - window.start).total_seconds())
    if row is not None and row.downtime_since is not None:
        running = max(0.0, (end - max(row.downtime_since, window.start)).total_seconds())
        if row.downtime_planned:
            planned_down += running
        else:
            stop += running
    return Oee.from_parts(
        planned_seconds=max(0.0, elapsed - planned_down),
        stop_seconds=stop,
        planned_downtime_seconds=planned_down,
        ideal_seconds=ideal,
        good=good,
        scrap=scrap,
    )


def _oee_dict(oee: Oee) -> dict[str, Any]:
    return {
        "oee": _pct(oee.oee),
        "availability": _pct(oee.availability),
        "performance": _pct(oee.performance),
        "quality": _pct(oee.quality),
    }


def _workstation(ws: dict, row: StationRow | None, window: Window, now: datetime) -> dict:
    oee = row_oee(row, window, now)
    return {
        "id": ws["pk"],
        "code": ws["code"],
        "name": ws["name"],
        "state": row.state if row else LiveState.OFFLINE,
        "order": row.order.number if row and row.order else "",
        "operation": row.operation_label if row else "",
        "operation_state": row.operation_state if row else "",
        "good": _num(oee.good),
        "scrap": _num(oee.scrap),
        "oee": _oee_dict(oee),
        "downtime": (
            {
                "reason_code": row.downtime_reason_code,
                "reason": row.downtime_reason_name,
                "since": row.downtime_since.isoformat(),
                "planned": row.downtime_planned,
            }
            if row and row.downtime_since
            else None
        ),
        "andon_open": row.andon_open if row else 0,
        "last_event_at": row.last_event_at.isoformat() if row and row.last_event_at else None,
        "_oee": oee,
        "_order": row.order if row else None,
        "_last": row.last_event_at if row else None,
    }


def _andon(call: AndonCall) -> dict:
    return {
        "id": call.pk,
        "kind": call.kind,
        "label": call.get_kind_display(),
        "status": call.status,
        "workstation": call.workstation.code,
        "note": call.note,
        "raised_at": call.raised_at.isoformat(),
        "acknowledged_at": call.acknowledged_at.isoformat() if call.acknowledged_at else None,
        "acknowledged_by": call.acknowledged_by.printed_name if call.acknowledged_by_id else "",
    }


def _line(
    line: Line, status: LineStatus | None, stations: list[dict], andon: list[dict], window: Window
) -> dict:
    oee = Oee.combine(s.pop("_oee") for s in stations)
    states = {s["state"] for s in stations}
    state = next((st for st in SEVERITY if st in states), LiveState.OFFLINE)
    current = max(
        (s for s in stations if s["_order"] is not None),
        key=lambda s: s["_last"] or datetime.min.replace(tzinfo=UTC),
        default=None,
    )
    order = current["_order"] if current else None
    downs = [s["downtime"] for s in stations if s["downtime"]]
    for s in stations:
        s.pop("_order")
        s.pop("_last")
    return {
        "id": line.pk,
        "code": line.code,
        "name": line.name,
        "site": line.site_id,
        "seq": status.sequence if status else 0,
        "state": state,
        "good": _num(oee.good),
        "scrap": _num(oee.scrap),
        "oee": _oee_dict(oee),
        "order": (
            {
                "number": order.number,
                "product": order.part_number,
                "quantity": _num(order.quantity),
                "good": _num(order.quantity_good),
                "progress": order.progress_percent,
            }
            if order
            else None
        ),
        "downtime": min(downs, key=lambda d: d["since"]) if downs else None,
        "andon": andon,
        "window": {"name": window.name, "start": window.start.isoformat(), "end": window.end.isoformat()},
        "last_event_at": status.last_event_at.isoformat() if status and status.last_event_at else None,
        "workstations": stations,
    }


def _stations_of(line_ids: list[int]) -> QuerySet:
    return (
        Workstation.objects.filter(line_id__in=line_ids, active=True)
        .order_by("code")
        .values(*SUMMARY_COLUMNS)
    )


def _andon_of(line_ids: list[int]) -> QuerySet:
    return (
        AndonCall.objects.filter(line_id__in=line_ids, status__in=OPEN_ANDON)
        .select_related("workstation", "acknowledged_by")
        .order_by("raised_at")
    )


def _working_of(line_ids: list[int]) -> QuerySet:
    # Every order running or paused at the lines' workstations: a station with two orders open
    # shows both, not only the one its counts go to.
    return (
        WorkOrderOperation.objects.filter(
            workstation__line_id__in=line_ids, status__in=[OperationStatus.RUNNING, OperationStatus.PAUSED]
        )
        .order_by("workstation__code", "started_at", "pk")
        .values(
            "workstation__line_id", "work_order__number", "workstation__code", "sequence", "name", "status"
        )
    )


# A delta reads one line, and a busy line sends one after every few commits: for one line these
# reads are compiled once (see `mes.compiled`); several lines (a site) build them afresh.
_ONE_LINE = {
    build: Compiled(lambda line_id, build=build: build([line_id]), "line_id")
    for build in (_stations_of, _andon_of, _working_of)
}


def _read(build, line_ids: list[int]) -> list:
    if len(line_ids) == 1:
        return _ONE_LINE[build].all(line_id=line_ids[0])
    return list(build(line_ids))


def _open_orders(line_ids: list[int]) -> dict[int, list[dict]]:
    """Every order running or paused at each line's workstations, in one query."""
    found: dict[int, list[dict]] = defaultdict(list)
    for op in _read(_working_of, line_ids):
        found[op["workstation__line_id"]].append(
            {
                "number": op["work_order__number"],
                "workstation": op["workstation__code"],
                "operation": f"{op['sequence']} {op['name']}",
                "state": op["status"],
            }
        )
    return found


def line_summaries(
    lines: QuerySet[Line] | list[Line],
    *,
    now: datetime | None = None,
    statuses: dict[int, LineStatus] | None = None,
    figures: bool = True,
) -> list[dict]:
    """The live summary of each line (state, counts, OEE, order, downtime, andon, workstations,
    and with `figures` what other apps add, such as open nonconformances and holds).

    Four queries plus one per site (its shift calendar) and the figures' own, whatever the number
    of lines; one less when the caller brings the lines' status rows (`statuses`, as the delta
    after a commit does). A delta after a production event leaves the figures out (they did not
    change); the client keeps the ones it has.
    """
    now = now or timezone.now()
    lines = list(lines)
    ids = [line.pk for line in lines]
    if statuses is None:
        statuses = LineStatus.objects.in_bulk(ids)
    stations: dict[int, list[tuple[dict, StationRow | None]]] = defaultdict(list)
    for ws in _read(_stations_of, ids):
        stations[ws["line_id"]].append((ws, StationRow.from_values(ws)))
    andon: dict[int, list[dict]] = defaultdict(list)
    for call in _read(_andon_of, ids):
        andon[call.line_id].append(_andon(call))
    open_orders = _open_orders(ids)
    windows: dict[int, Window] = {}
    out = []
    for line in lines:
        if line.site_id not in windows:
            windows[line.site_id] = status_window(line.site, now)
        window = windows[line.site_id]
        ws_dicts = [_workstation(ws, row, window, now) for ws, row in stations[line.pk]]
        out.append(_line(line, statuses.get(line.pk), ws_dicts, andon[line.pk], window))
        out[-1]["orders"] = open_orders[line.pk]
    if figures:
        extra = line_figures(ids)
        for summary in out:
            summary["figures"] = extra.get(summary["id"], {})
    return out


# `get_kind_display()` hashes every kind's lazy label, each a translation, to look one up: on
# every tap. The labels by kind, read once; each summary translates only its own.
_KIND_LABELS = dict(EventKind.choices)


def event_summary(event: ProductionEvent) -> dict:
    """An event as the dashboards list it (in snapshots and in each delta)."""
    return {
        "id": event.pk,
        "kind": kind_word(event.kind),
        "label": str(_KIND_LABELS.get(event.kind, event.kind)),
        "workstation": event.workstation.code if event.workstation_id else "",
        "order": event.work_order.number if event.work_order_id else "",
        "quantity": format(event.quantity.normalize(), "f") if event.quantity is not None else None,
        "reason_code": event.reason.code if event.reason_id else "",
        "reason": event.reason.name if event.reason_id else "",
        "at": event.occurred_at.isoformat(),
    }


def latest_events(line_id: int, limit: int = EVENTS_SHOWN) -> list[dict]:
    events = (
        ProductionEvent.objects.filter(line_id=line_id)
        .select_related("workstation", "work_order", "reason")
        .order_by("-id")[:limit]
    )
    return [event_summary(e) for e in events]


def visible_lines(user) -> QuerySet[Line]:
    return (
        Line.objects.filter(site__in=sites_visible_to(user))
        .select_related("site")
        .order_by("site__code", "code")
    )


def site_snapshot(site: Site, *, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    lines = Line.objects.filter(site=site).select_related("site").order_by("code")
    return {
        "type": "snapshot",
        "scope": "site",
        "site": {"id": site.pk, "code": site.code, "name": site.name, "time_zone": site.time_zone},
        "lines": line_summaries(lines, now=now),
        "at": now.isoformat(),
    }


def line_snapshot(line: Line, *, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    site = line.site
    return {
        "type": "snapshot",
        "scope": "line",
        "site": {"id": site.pk, "code": site.code, "name": site.name, "time_zone": site.time_zone},
        "lines": line_summaries([line], now=now),
        "events": latest_events(line.pk),
        "at": now.isoformat(),
    }


def line_delta(
    *,
    line_id: int,
    sequence: int,
    last_event_at: datetime | None,
    workstation_ids: list[int],
    line: Line | None = None,
    figures: bool = False,
) -> dict:
    """The delta sent after a commit: the line's summary with only the workstations that changed.

    `line` (with its site) when the caller has it loaded already."""
    if line is None:
        line = Line.objects.select_related("site").get(pk=line_id)
    status = LineStatus(line_id=line_id, site_id=line.site_id, sequence=sequence, last_event_at=last_event_at)
    summary = line_summaries([line], statuses={line_id: status}, figures=figures)[0]
    summary["workstations"] = [s for s in summary["workstations"] if s["id"] in set(workstation_ids)]
    summary["seq"] = sequence
    return {"seq": sequence, "line": summary, "at": timezone.now().isoformat()}


def line_sequences(line_ids: list[int]) -> dict[int, int]:
    return dict(LineStatus.objects.filter(pk__in=line_ids).values_list("pk", "sequence"))


def hourly_chart(line: Line, *, now: datetime | None = None) -> dict:
    """Good and scrap per hour and OEE per hour of the line's current shift window, up to now."""
    now = now or timezone.now()
    window = status_window(line.site, now)
    end = min(now, window.end)
    hours: list[datetime] = []
    t = window.start
    while t < end:
        hours.append(t)
        t += timedelta(hours=1)
    good = [0.0] * len(hours)
    scrap = [0.0] * len(hours)
    rows = ProductionEvent.objects.filter(
        line_id=line.pk,
        kind__in=[EventKind.GOOD, EventKind.SCRAP],
        occurred_at__gte=window.start,
        occurred_at__lt=end,
    ).values_list("kind", "quantity", "occurred_at")
    for kind, qty, at in rows:
        i = int((at - window.start).total_seconds() // 3600)
        if 0 <= i < len(hours):
            (good if kind == EventKind.GOOD else scrap)[i] += float(qty)
    oee = []
    for h in hours:
        figure = oee_for_line(line, h, min(h + timedelta(hours=1), end), now=now).oee
        oee.append(None if figure is None else round(figure * 100, 1))
    return {
        "line": line.pk,
        "window": {"name": window.name, "start": window.start.isoformat(), "end": window.end.isoformat()},
        "hours": [int(h.timestamp()) for h in hours],
        "good": good,
        "scrap": scrap,
        "oee": oee,
    }
