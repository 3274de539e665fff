"""Labor: the time each person spent on each operation, per order and per shift.

Read from two records the floor already keeps, with no clock-in of its own:

- **When an operation runs**, replayed from the ledger in time order: from its start or a resume
  until a pause, the good count that finishes it (reaching the order quantity), or its order
  leaving production (on hold, completed short, cancelled); a running operation whose order is
  released back runs again.
- **Who attends its workstation**, from *marks*: a badge sign-in at one of the workstation's
  tablets (the sign-in attempt log), or a tap of the person's own recorded there (the ledger).
  A person attends from their mark until the next mark of someone else, who takes over. With no
  one taking over, they attend until the end of their shift: the shift occurrence their mark
  falls in, or one starting within EARLY_ARRIVAL of it (a person badging in before their
  shift), and at most ATTENDANCE_LIMIT when no shift holds the mark. Two marks of the same
  person with no one else's between (and at most ATTENDANCE_LIMIT apart) join, so overtime
  until a later tap counts.

A person's labor on an operation is the time it runs while they attend its workstation; running
time nobody attends is "unattended" (person None): the machine ran on its own. Only people who
badge in count as attending (machine data and API clients have no badge), and a supervisor's
badge and PIN given to allow an over-completion is no sign-in: they are not taking over.
Sign-out is not recorded by the tablet, so time between a person's sign-out and the end of their
shift still counts to them when no one takes over.

Each piece of time is split by the site's shift occurrences (an instant in two overlapping
shifts goes to the earlier one); time outside every shift has no shift. A fixed number of
queries whatever the number of events: operations, their events, sign-ins, the people's taps
and the override taps, and the shift calendar of each site.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Q
from django.utils import timezone

from mes.compiled import Compiled
from mes.models import SignInAttempt, Site, User
from mes.selectors import ShiftWindow, shift_windows
from workorders.models import ProductionEvent, WorkOrder, WorkOrderOperation
from workorders.selectors.oee import Interval, intersect_intervals, merge_intervals, subtract_intervals
from workorders.states import WORKABLE, EventKind, OperationStatus

ATTENDANCE_LIMIT = timedelta(hours=12)
EARLY_ARRIVAL = timedelta(minutes=30)
# An override's badge check and its good count are one request: the count is recorded within
# seconds of the check.
OVERRIDE_SLACK = timedelta(seconds=60)
RUN_KINDS = (EventKind.START, EventKind.PAUSE, EventKind.RESUME, EventKind.GOOD)


@dataclass(frozen=True)
class LaborRow:
    """Seconds one person (None: nobody) spent on one operation within one shift occurrence
    (`shift` "" and `shift_start` None: outside every shift)."""

    work_order_id: int
    work_order: str
    operation_id: int
    sequence: int
    operation: str
    workstation: str
    user_id: int | None
    person: str
    badge: str
    shift: str
    shift_start: datetime | None
    seconds: float

    @property
    def hours(self) -> float:
        return round(self.seconds / 3600, 4)


@dataclass(frozen=True)
class _Mark:
    at: datetime
    user_id: int


# --- when operations run ------------------------------------------------------------------------


class RunEvent(NamedTuple):
    """What of a ledger event tells when an operation ran: read as values, since a record or a
    site's labor reads hundreds of them and model instances would cost more than the rest."""

    pk: int
    kind: str
    occurred_at: datetime
    quantity: Decimal | None
    data: dict
    operation_id: int | None
    work_order_id: int


def run_intervals(events: Sequence[RunEvent], order_quantity, now: datetime) -> list[Interval]:
    """When an operation ran, from its own events and its order's status events (in time order);
    still running, until `now`."""
    runs: list[Interval] = []
    running = False  # started or resumed, not paused or finished
    workable = True
    since: datetime | None = None
    good = 0
    for event in sorted(events, key=lambda e: (e.occurred_at, e.pk)):
        at = event.occurred_at
        was_on = running and workable
        if event.kind == EventKind.ORDER_STATUS:
            workable = event.data.get("to") in WORKABLE
        elif event.kind in (EventKind.START, EventKind.RESUME):
            running = True
        elif event.kind == EventKind.PAUSE:
            running = False
        elif event.kind == EventKind.GOOD:
            good += event.quantity or 0
            if good >= order_quantity:
                running = False
        now_on = running and workable
        if now_on and not was_on:
            since = at
        elif was_on and not now_on and since is not None:
            runs.append((since, at))
            since = None
    if running and workable and since is not None:
        runs.append((since, max(since, now)))
    return merge_intervals(runs)


# --- who attends a workstation ------------------------------------------------------------------


def _shift_end_for(at: datetime, windows: Sequence[ShiftWindow]) -> datetime | None:
    """The end of the shift a mark at `at` belongs to: one it falls in, or one starting soon."""
    ends = [w.end for w in windows if w.start - EARLY_ARRIVAL <= at < w.end]
    return max(ends) if ends else None


def attendance(marks: Sequence[_Mark], windows: Sequence[ShiftWindow]) -> list[tuple[int, Interval]]:
    """(user id, interval) each person attended, from the marks at one workstation (time order)."""
    spans: list[tuple[int, Interval]] = []
    for i, mark in enumerate(marks):
        following = marks[i + 1] if i + 1 < len(marks) else None
        if following and following.user_id == mark.user_id and following.at - mark.at <= ATTENDANCE_LIMIT:
            end = following.at
        else:
            end = _shift_end_for(mark.at, windows) or mark.at + ATTENDANCE_LIMIT
            if following is not None:
                end = min(end, following.at)
        if mark.at < end:
            spans.append((mark.user_id, (mark.at, end)))
    return spans


# The reads of `_marks`, compiled once (`Compiled`): building them cost more than running them.
_SIGN_INS = Compiled(
    lambda workstation_ids, start, end: SignInAttempt.objects.filter(
        kind=SignInAttempt.Kind.BADGE,
        succeeded=True,
        workstation_id__in=workstation_ids,
        user__isnull=False,
        at__gte=start,
        at__lte=end,
    ).values_list("workstation_id", "user_id", "at"),
    "workstation_ids",
    "start",
    "end",
)
_OVERRIDES = Compiled(
    lambda workstation_ids, start, end: ProductionEvent.objects.filter(
        workstation_id__in=workstation_ids,
        override_by__isnull=False,
        recorded_at__gte=start,
        recorded_at__lte=end,
    ).values_list("workstation_id", "override_by_id", "recorded_at"),
    "workstation_ids",
    "start",
    "end",
)
_TAPS = Compiled(
    lambda workstation_ids, start, end: (
        ProductionEvent.objects.filter(
            workstation_id__in=workstation_ids, occurred_at__gte=start, occurred_at__lte=end
        )
        .exclude(kind=EventKind.ORDER_STATUS)
        .exclude(Q(user__badge_number__isnull=True) | Q(user__badge_number=""))
        .values_list("workstation_id", "user_id", "occurred_at")
    ),
    "workstation_ids",
    "start",
    "end",
)


def _marks(workstation_ids: set[int], start: datetime, end: datetime) -> dict[int, list[_Mark]]:
    """Sign-ins and badge holders' taps at the workstations within [start, end], by workstation."""
    marks: dict[int, list[_Mark]] = defaultdict(list)
    workstation_ids = list(workstation_ids)
    sign_ins = _SIGN_INS.all(workstation_ids=workstation_ids, start=start, end=end)
    # The overrides are read only to tell a supervisor's badge check from a sign-in.
    overrides: dict[tuple[int, int], list[datetime]] = defaultdict(list)
    if sign_ins:
        for ws, by, recorded in _OVERRIDES.all(
            workstation_ids=workstation_ids, start=start, end=end + OVERRIDE_SLACK
        ):
            overrides[(ws, by)].append(recorded)

    def is_override(ws: int, user_id: int, at: datetime) -> bool:
        return any(at <= o_at <= at + OVERRIDE_SLACK for o_at in overrides.get((ws, user_id), ()))

    for ws, user_id, at in sign_ins:
        if not is_override(ws, user_id, at):
            marks[ws].append(_Mark(at, user_id))
    taps = _TAPS.all(workstation_ids=workstation_ids, start=start, end=end)
    for ws, user_id, at in taps:
        marks[ws].append(_Mark(at, user_id))
    for ws_marks in marks.values():
        ws_marks.sort(key=lambda m: m.at)
    return marks


# --- putting it together ------------------------------------------------------------------------


def _split_by_shift(
    interval: Interval, windows: Sequence[ShiftWindow]
) -> Iterable[tuple[ShiftWindow | None, float]]:
    rest = [interval]
    for window in windows:
        inside = intersect_intervals(rest, [(window.start, window.end)])
        if inside:
            yield window, sum((hi - lo).total_seconds() for lo, hi in inside)
            rest = subtract_intervals(rest, inside)
    if rest:
        yield None, sum((hi - lo).total_seconds() for lo, hi in rest)


def _windows(site: Site, start: datetime, end: datetime) -> list[ShiftWindow]:
    """The site's shift occurrences around [start, end]: from a day earlier, so no occurrence a
    piece of time falls in is cut at its start. Over the calendar's longest window (an operation
    left running for a year), none: the time is then counted without shifts."""
    try:
        return shift_windows(site, start - timedelta(days=1), end + ATTENDANCE_LIMIT)
    except ValueError:
        return []


def labor_rows(
    operations: Iterable[WorkOrderOperation],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
    events: Iterable[RunEvent] | None = None,
) -> list[LaborRow]:
    """Labor on `operations` (each with `work_order` and `workstation__line__site` loaded), within
    [start, end) when given: one row per operation, person (or nobody) and shift occurrence.
    `events`: every ledger event of the operations' orders, when the caller has read them already
    (the production record reads all of its order's); read here otherwise."""
    now = now or timezone.now()
    operations = list(operations)
    if not operations:
        return []
    order_ids = {op.work_order_id for op in operations}
    by_operation: dict[int, list[RunEvent]] = defaultdict(list)
    by_order: dict[int, list[RunEvent]] = defaultdict(list)
    if events is None:
        events = map(
            RunEvent._make,
            ProductionEvent.objects.filter(
                Q(operation__in=operations, kind__in=RUN_KINDS)
                | Q(work_order_id__in=order_ids, kind=EventKind.ORDER_STATUS)
            ).values_list(*RunEvent._fields),
        )
    operation_ids = {op.pk for op in operations}
    for event in events:
        if event.kind == EventKind.ORDER_STATUS:
            if event.work_order_id in order_ids:
                by_order[event.work_order_id].append(event)
        elif event.kind in RUN_KINDS and event.operation_id in operation_ids:
            by_operation[event.operation_id].append(event)
    clip = [(start or datetime.min.replace(tzinfo=UTC), end or now)] if start or end else None
    runs = {}
    for op in operations:
        own = by_operation.get(op.pk, [])
        if own:
            ran = run_intervals(own + by_order.get(op.work_order_id, []), op.work_order.quantity, now)
            runs[op.pk] = intersect_intervals(ran, clip) if clip else ran
    spans = [interval for intervals in runs.values() for interval in intervals]
    if not spans:
        return []
    span_start, span_end = min(lo for lo, _ in spans), max(hi for _, hi in spans)
    lookback = span_start - ATTENDANCE_LIMIT
    sites = {op.workstation.line.site_id: op.workstation.line.site for op in operations}
    site_of = {op.workstation_id: op.workstation.line.site_id for op in operations}
    windows = {pk: _windows(site, lookback, span_end) for pk, site in sites.items()}
    marks = _marks({op.workstation_id for op in operations}, lookback, span_end)
    people = _people({m.user_id for ws_marks in marks.values() for m in ws_marks})
    attended = {ws: attendance(ws_marks, windows[site_of[ws]]) for ws, ws_marks in marks.items()}
    seconds: dict[tuple, float] = defaultdict(float)
    for op in operations:
        ran = runs.get(op.pk)
        if not ran:
            continue
        site_windows = windows[op.workstation.line.site_id]
        pieces: list[tuple[int | None, Interval]] = []
        for user_id, interval in attended.get(op.workstation_id, []):
            pieces += [(user_id, piece) for piece in intersect_intervals(ran, [interval])]
        covered = [interval for _, interval in attended.get(op.workstation_id, [])]
        pieces += [(None, piece) for piece in subtract_intervals(ran, covered)]
        for user_id, piece in pieces:
            for window, secs in _split_by_shift(piece, site_windows):
                shift_key = (window.shift.name, window.start) if window else ("", None)
                seconds[(op.pk, user_id, shift_key)] += secs
    ops = {op.pk: op for op in operations}
    rows = []
    for (op_pk, user_id, (shift_name, shift_start)), secs in seconds.items():
        op = ops[op_pk]
        person = people.get(user_id)
        rows.append(
            LaborRow(
                work_order_id=op.work_order_id,
                work_order=op.work_order.number,
                operation_id=op.pk,
                sequence=op.sequence,
                operation=op.name,
                workstation=op.workstation.code,
                user_id=user_id,
                person=person.printed_name if person else "",
                badge=(person.badge_number or "") if person else "",
                shift=shift_name,
                shift_start=shift_start,
                seconds=secs,
            )
        )
    rows.sort(key=lambda r: (r.work_order, r.sequence, r.shift_start or now, r.person, r.user_id or 0))
    return rows


def _people(user_ids: set[int]) -> dict[int, User]:
    if not user_ids:
        return {}
    return {
        u.pk: u
        for u in User.objects.filter(pk__in=user_ids).only(
            "id", "first_name", "last_name", "username", "badge_number"
        )
    }


def _operations():
    return WorkOrderOperation.objects.select_related("work_order", "workstation__line__site")


def labor_for_order(order: WorkOrder, *, now: datetime | None = None) -> list[LaborRow]:
    """Every person's time on every operation of `order`, per shift occurrence."""
    return labor_rows(_operations().filter(work_order=order), now=now)


def labor_for_site(
    site: Site, start: datetime, end: datetime, *, now: datetime | None = None
) -> list[LaborRow]:
    """Labor at `site` within [start, end): every operation that ran then, per person and shift."""
    now = now or timezone.now()
    operations = _operations().filter(
        Q(last_event_at__gte=start) | Q(status__in=[OperationStatus.RUNNING, OperationStatus.PAUSED]),
        work_order__line__site=site,
        started_at__lt=end,
    )
    return labor_rows(operations, start=start, end=min(end, now), now=now)


def person_totals(rows: Iterable[LaborRow]) -> list[tuple[str, str, float]]:
    """(person, badge, seconds) summed over `rows`, most time first; nobody's time last."""
    totals: dict[tuple[int | None, str, str], float] = defaultdict(float)
    for row in rows:
        totals[(row.user_id, row.person, row.badge)] += row.seconds
    ordered = sorted(totals.items(), key=lambda item: (item[0][0] is None, -item[1]))
    return [(person, badge, secs) for (_, person, badge), secs in ordered]


def labor_record(order: WorkOrder, *, now: datetime | None = None) -> list[dict]:
    """The order's labor as plain values, for its production record: one entry per operation,
    person ("" with badge "" for running time nobody attended) and shift, in whole seconds.
    The same for every reading once no operation of the order runs any more."""
    return [
        {
            "operation": row.sequence,
            "operation_name": row.operation,
            "workstation": row.workstation,
            "person": row.person,
            "badge": row.badge,
            "shift": row.shift,
            "shift_start": row.shift_start.isoformat() if row.shift_start else "",
            "seconds": round(row.seconds),
        }
        for row in labor_for_order(order, now=now)
    ]
