"""Keep the live status rows current from the ledger, inside each event's transaction.

`project_event` applies an event to the workstation's status row (state, current order and
operation, counts of the shift window, open downtime) and returns what it changed; the
in-transaction handler (`workorders.live.broadcast.on_production_event`) then schedules the
after-commit delta, which raises the line's sequence number (`next_sequence`).
`rebuild_line_status` replays the whole ledger through the same `apply_event`, so the rebuilt
rows equal the live ones by construction (a test proves it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F

from mes.compiled import Compiled, update_row
from mes.models import Line, Site, Workstation
from mes.selectors import shift_windows
from workorders.live.models import AndonCall, LineStatus, WorkstationStatus
from workorders.live.states import BLOCKED_REASONS, OFFLINE_REASONS, AndonStatus, LiveState
from workorders.models import ProductionEvent, WorkOrder
from workorders.states import EventKind, Loss, WorkOrderStatus

ZERO = Decimal("0")
OPEN_ANDON = [AndonStatus.OPEN, AndonStatus.ACKNOWLEDGED]


# --- Shift windows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    name: str


def status_window(site: Site, at: datetime) -> Window:
    """The window whose counts `at` belongs to: the shift running at `at`, else the gap between the
    previous shift's end and the next shift's start ("Off shift": overtime is still counted), else
    (a site without a calendar) the local day."""
    windows = shift_windows(site, at - timedelta(days=4), at + timedelta(days=4))
    previous_end = next_start = None
    for w in windows:
        if w.start <= at < w.end:
            return Window(w.start, w.end, w.shift.name)
        if w.end <= at:
            previous_end = w.end if previous_end is None else max(previous_end, w.end)
        elif next_start is None or w.start < next_start:
            next_start = w.start
    tz = site.tzinfo
    day = at.astimezone(tz).date()
    start = previous_end or datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = next_start or datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return Window(start, end, "Off shift" if windows else "Day")


# --- Applying one event -------------------------------------------------------------------------


def _state(row: WorkstationStatus) -> str:
    if row.downtime_reason_id is not None:
        code = row.downtime_reason.code
        if code in OFFLINE_REASONS:
            return LiveState.OFFLINE
        if code in BLOCKED_REASONS:
            return LiveState.BLOCKED
        if row.downtime_reason.loss == Loss.SETUP:
            return LiveState.SETUP
        return LiveState.DOWN
    if row.operation_id is not None and row.order_held:
        return LiveState.BLOCKED
    if row.operation_state == "running":
        return LiveState.RUNNING
    return LiveState.IDLE


def _roll(row: WorkstationStatus, window: Window) -> None:
    row.window_start, row.window_end, row.window_name = window.start, window.end, window.name
    row.good = row.scrap = ZERO
    row.ideal_seconds = row.stop_seconds = row.planned_down_seconds = 0.0


def _in_window(row: WorkstationStatus, site: Site, at: datetime) -> bool:
    """Move the row to `at`'s window if that is newer; True if `at` counts in the row's window."""
    if row.window_start is not None and row.window_start <= at < row.window_end:
        return True
    if row.window_end is not None and at < row.window_start:
        return False  # a late tap from an earlier shift: the ledger has it, this shift doesn't
    _roll(row, status_window(site, at))
    return True


def _clipped_seconds(row: WorkstationStatus, start: datetime, end: datetime) -> float:
    lo, hi = max(start, row.window_start), min(end, row.window_end)
    return max(0.0, (hi - lo).total_seconds())


def apply_event(row: WorkstationStatus, event: ProductionEvent, site: Site, good_before: Decimal) -> None:
    """Apply one ledger event of the row's workstation to its status row (not saved).

    `good_before` is the operation's good count before the event (to tell when it is done).
    """
    at = event.occurred_at
    kind = event.kind
    counts = _in_window(row, site, at)
    if kind in (EventKind.START, EventKind.RESUME):
        row.work_order_id, row.operation_id, row.operation_state = (
            event.work_order_id,
            event.operation_id,
            "running",
        )
        row.order_held = False  # the services refuse to start or resume an order on hold
    elif kind == EventKind.PAUSE:
        if row.operation_id in (None, event.operation_id):
            row.work_order_id, row.operation_id, row.operation_state = (
                event.work_order_id,
                event.operation_id,
                "paused",
            )
    elif kind == EventKind.GOOD:
        if counts:
            row.good += event.quantity
            row.ideal_seconds += float(event.quantity * event.operation.ideal_cycle_seconds)
        if (
            good_before + event.quantity >= event.work_order.quantity
            and row.operation_id == event.operation_id
        ):
            row.work_order_id = row.operation_id = None
            row.operation_state = ""
            row.order_held = False
    elif kind == EventKind.SCRAP:
        if counts:
            row.scrap += event.quantity
            row.ideal_seconds += float(event.quantity * event.operation.ideal_cycle_seconds)
    elif kind == EventKind.DOWNTIME_START:
        row.downtime_reason = event.reason
        row.downtime_since = at
        row.downtime_planned = bool(event.data.get("planned", False))
    elif kind == EventKind.DOWNTIME_END:
        if row.downtime_since is not None:
            seconds = _clipped_seconds(row, row.downtime_since, at) if counts else 0.0
            if row.downtime_planned:
                row.planned_down_seconds += seconds
            else:
                row.stop_seconds += seconds
        row.downtime_reason = None
        row.downtime_since = None
        row.downtime_planned = False
    elif kind == EventKind.ORDER_STATUS and row.work_order_id == event.work_order_id:
        target = event.data.get("to")
        if target in (WorkOrderStatus.CANCELLED, WorkOrderStatus.CLOSED, WorkOrderStatus.COMPLETED):
            row.work_order_id = row.operation_id = None
            row.operation_state = ""
            row.order_held = False
        else:
            row.order_held = target == WorkOrderStatus.ON_HOLD
    if row.last_event_at is None or at > row.last_event_at:
        row.last_event_at = at
    row.state = _state(row)


# --- The in-transaction handler -----------------------------------------------------------------


def ensure_line_status(line_id: int) -> None:
    """Create the line's status row (before its first event), unless a concurrent call did."""
    site_id = Line.objects.values_list("site_id", flat=True).get(pk=line_id)
    try:
        with transaction.atomic():
            LineStatus.objects.create(line_id=line_id, site_id=site_id)
    except IntegrityError:
        pass


def next_sequence(line_id: int, at: datetime | None) -> tuple[int, datetime | None]:
    """Raise the line's sequence number after a commit; returns it and the line's last event time.

    One statement in its own (autocommit) transaction, so the row is locked for microseconds
    and no production transaction waits on another station's. Within a process one line's deltas
    are numbered and sent one at a time (by the line's publisher, or under a lock per line; see
    `workorders.live.broadcast`), so they leave in number order; commits in two processes a moment
    apart may still cross, which a dashboard sees as a gap and answers by re-reading the
    snapshot. A snapshot read between a
    commit and its number sees the new rows with the old number, and the delta that follows
    repeats what it already shows.
    """
    table = connection.ops.quote_name(LineStatus._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(at) if at is not None else None
    with connection.cursor() as cursor:
        for _ in range(2):
            cursor.execute(
                f"UPDATE {table} SET sequence = sequence + 1, last_event_at = CASE "
                "WHEN %s IS NOT NULL AND (last_event_at IS NULL OR last_event_at < %s) THEN %s "
                "ELSE last_event_at END WHERE line_id = %s RETURNING sequence, last_event_at",
                [stamp, stamp, stamp, line_id],
            )
            if (found := cursor.fetchone()) is not None:
                break
            ensure_line_status(line_id)  # the line's first event
        sequence, last = found
    if isinstance(last, str):  # SQLite hands back the stored text
        last = LineStatus._meta.get_field("last_event_at").to_python(last)
    return sequence, last


# The downtime reason is not joined: it is read (by `_state`) only while a downtime is open.
# Every event of a workstation reads its row: compiled once (see `mes.compiled`).
_ROW_FOR_UPDATE = Compiled(
    lambda workstation_id: WorkstationStatus.objects.select_for_update().filter(pk=workstation_id).order_by(),
    "workstation_id",
)


def _status_row(workstation_id: int, line_id: int) -> WorkstationStatus:
    found = _ROW_FOR_UPDATE.all(workstation_id=workstation_id)
    return found[0] if found else WorkstationStatus(workstation_id=workstation_id, line_id=line_id)


def _line_of(event: ProductionEvent) -> Line:
    # The production services load the order with its line and site, and the event shares them.
    work_order = event.work_order if event.work_order_id else None
    if (
        work_order is not None
        and work_order.line_id == event.line_id
        and WorkOrder.line.is_cached(work_order)
        and Line.site.is_cached(work_order.line)
    ):
        return work_order.line
    return Line.objects.select_related("site").get(pk=event.line_id)


def _projected(row: WorkstationStatus) -> dict | None:
    """The row's projected values before an event is applied (None for a row not saved yet)."""
    if row._state.adding:
        return None
    return {f: getattr(row, f) for f in APPLIED_FIELDS}


def _save(row: WorkstationStatus, before: dict | None) -> None:
    """Save what the event changed: a count usually moves three or four of the row's columns."""
    if before is None:
        row.save()
        return
    # An UPDATE of the locked row by its key: the row has no history or signals for `save` to run.
    changed = {f: getattr(row, f) for f in APPLIED_FIELDS if getattr(row, f) != before[f]}
    if changed:
        update_row(WorkstationStatus, row.pk, changed)


@dataclass(frozen=True)
class Projected:
    """What an event changed: its line (with the site loaded) and the status rows it moved."""

    line: Line
    workstations: list[int]


def project_event(event: ProductionEvent) -> Projected | None:
    """Inside the event's transaction, update the status rows of its workstation (or, for an
    order's status change, of the workstations working it); None for an event of no line. Only
    those rows are locked; the line's sequence number is raised after the commit."""
    if event.line_id is None:
        return None
    line = _line_of(event)
    site = line.site
    changed: list[int] = []
    if event.workstation_id is not None:
        row = _status_row(event.workstation_id, event.line_id)
        good_before = event.operation.quantity_good if event.operation_id else ZERO
        before = _projected(row)
        apply_event(row, event, site, good_before)
        _save(row, before)
        changed.append(row.pk)
    elif event.kind == EventKind.ORDER_STATUS:
        rows = WorkstationStatus.objects.select_for_update(of=("self",)).select_related("downtime_reason")
        for row in rows.filter(work_order_id=event.work_order_id):
            before = _projected(row)
            apply_event(row, event, site, ZERO)
            _save(row, before)
            changed.append(row.pk)
    return Projected(line=line, workstations=changed)


def refresh_andon_count(workstation: Workstation) -> None:
    """Recount the open andon calls of a workstation into its status row (inside the caller's tx)."""
    count = AndonCall.objects.filter(workstation=workstation, status__in=OPEN_ANDON).count()
    updated = WorkstationStatus.objects.filter(pk=workstation.pk).update(andon_open=count)
    if not updated:
        WorkstationStatus.objects.create(
            workstation=workstation, line_id=workstation.line_id, andon_open=count
        )


# --- Rebuild ------------------------------------------------------------------------------------

PROJECTED_FIELDS = [
    "state",
    "work_order_id",
    "operation_id",
    "operation_state",
    "order_held",
    "downtime_reason_id",
    "downtime_since",
    "downtime_planned",
    "window_start",
    "window_end",
    "window_name",
    "good",
    "scrap",
    "ideal_seconds",
    "stop_seconds",
    "planned_down_seconds",
    "andon_open",
    "last_event_at",
]
# What `apply_event` sets (all but the andon count, which the andon services keep).
APPLIED_FIELDS = [f for f in PROJECTED_FIELDS if f != "andon_open"]


@transaction.atomic
def rebuild_line_status() -> int:
    """Recompute every status row from the ledger (and the andon calls); returns rows rebuilt.

    Events are replayed in ledger order through `apply_event`, as the live handler saw them.
    Sequence numbers only ever go up: each line's is raised once, so dashboards re-read.
    """
    lines = {s.pk: s for s in LineStatus.objects.select_for_update()}
    sites = {s.pk: s for s in Site.objects.prefetch_related("shifts")}
    stations = {w.pk: w for w in Workstation.objects.select_related("line")}
    rows: dict[int, WorkstationStatus] = {}
    good: dict[int, Decimal] = {}
    by_order: dict[int, set[int]] = {}
    events = ProductionEvent.objects.select_related("reason", "operation", "work_order").order_by("pk")
    for event in events.iterator(chunk_size=2000):
        if event.workstation_id is not None:
            station = stations[event.workstation_id]
            row = rows.setdefault(
                station.pk, WorkstationStatus(workstation_id=station.pk, line_id=station.line_id)
            )
            before = good.get(event.operation_id, ZERO) if event.operation_id else ZERO
            # The live handler sees the order as it stands at the event; on_hold is tracked below.
            apply_event(row, event, sites[station.line.site_id], before)
            if event.kind == EventKind.GOOD:
                good[event.operation_id] = before + event.quantity
            if event.work_order_id:
                by_order.setdefault(event.work_order_id, set()).add(station.pk)
        elif event.kind == EventKind.ORDER_STATUS:
            for pk in by_order.get(event.work_order_id, ()):
                row = rows[pk]
                if row.work_order_id == event.work_order_id:
                    apply_event(row, event, sites[stations[pk].line.site_id], ZERO)
        if event.line_id is not None and event.line_id not in lines:
            lines[event.line_id] = LineStatus.objects.create(
                line_id=event.line_id,
                site_id=Line.objects.values_list("site_id", flat=True).get(pk=event.line_id),
            )
    andon = dict(
        AndonCall.objects.filter(status__in=OPEN_ANDON)
        .order_by()
        .values("workstation_id")
        .annotate(n=Count("pk"))
        .values_list("workstation_id", "n")
    )
    for pk in andon:
        station = stations[pk]
        rows.setdefault(pk, WorkstationStatus(workstation_id=pk, line_id=station.line_id))
    existing = set(WorkstationStatus.objects.values_list("pk", flat=True))
    for pk, row in rows.items():
        row.andon_open = andon.get(pk, 0)
        if row.downtime_reason_id is not None:
            row.state = _state(row)
    WorkstationStatus.objects.exclude(pk__in=rows).delete()
    to_update = [r for pk, r in rows.items() if pk in existing]
    WorkstationStatus.objects.bulk_create([r for pk, r in rows.items() if pk not in existing])
    WorkstationStatus.objects.bulk_update(
        to_update, [f.removesuffix("_id") for f in PROJECTED_FIELDS], batch_size=500
    )
    for status in lines.values():
        last = (
            ProductionEvent.objects.filter(line_id=status.pk)
            .order_by("-occurred_at")
            .values_list("occurred_at", flat=True)
            .first()
        )
        LineStatus.objects.filter(pk=status.pk).update(sequence=F("sequence") + 1, last_event_at=last)
    return len(rows)
