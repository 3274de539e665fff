"""OEE (overall equipment effectiveness) of workstations and lines, read from the ledger.

Over a window [start, end):

- planned production time = the site's shift time in the window minus planned downtime;
- stop time = unplanned downtime inside planned production time;
- run time = planned production time - stop time;
- Availability = run / planned, Performance = ideal time / run (capped at 1),
  Quality = good / (good + scrap), OEE = A x P x Q.

Downtimes are intervals and may overlap one another and the shift boundaries, so time is
computed by interval arithmetic (union, intersection, difference) in the pure helpers below;
counts and ideal time are summed in the database. Every public function runs a fixed number of
queries whatever the number of events, downtimes or workstations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone

from mes.models import Line, Site, Workstation
from mes.selectors import shift_windows
from workorders.models import Downtime, ProductionEvent
from workorders.states import EventKind

Interval = tuple[datetime, datetime]

ZERO = Decimal("0")


def _ideal_field() -> DecimalField:
    # Wide enough for quantity (14, 3) x cycle (10, 3) without rounding on either backend.
    return DecimalField(max_digits=28, decimal_places=6)


# --- Interval arithmetic (pure) -----------------------------------------------------------------


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of `intervals` as sorted, disjoint, non-empty intervals.

    Intervals that overlap or touch are joined, so time covered twice is counted once.
    """
    merged: list[Interval] = []
    for lo, hi in sorted(i for i in intervals if i[0] < i[1]):
        if merged and lo <= merged[-1][1]:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def intersect_intervals(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The time covered by both `a` and `b`, as sorted, disjoint intervals."""
    left, right = merge_intervals(a), merge_intervals(b)
    result: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        lo = max(left[i][0], right[j][0])
        hi = min(left[i][1], right[j][1])
        if lo < hi:
            result.append((lo, hi))
        # Advance whichever ends first: it cannot overlap anything further in the other list.
        if left[i][1] <= right[j][1]:
            i += 1
        else:
            j += 1
    return result


def subtract_intervals(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The time covered by `a` but not by `b`, as sorted, disjoint intervals."""
    cuts = merge_intervals(b)
    result: list[Interval] = []
    for lo, hi in merge_intervals(a):
        cursor = lo
        for cut_lo, cut_hi in cuts:
            if cut_hi <= cursor:
                continue
            if cut_lo >= hi:
                break
            if cut_lo > cursor:
                result.append((cursor, cut_lo))
            cursor = max(cursor, cut_hi)
            if cursor >= hi:
                break
        if cursor < hi:
            result.append((cursor, hi))
    return result


def interval_seconds(intervals: Iterable[Interval]) -> float:
    """Seconds covered by `intervals`, counting overlapping time once."""
    return sum((hi - lo).total_seconds() for lo, hi in merge_intervals(intervals))


# --- The result ---------------------------------------------------------------------------------


def _ratio(numerator: float, denominator: float, *, cap: float | None = None) -> float | None:
    # No denominator means the factor is undefined (no planned time, no run time, no count),
    # which a dashboard must show as "n/a", not as 0 % or a crash.
    if denominator <= 0:
        return None
    value = numerator / denominator
    return min(value, cap) if cap is not None else value


def _decimal_text(value: Decimal) -> str:
    # Normalised so SQLite and PostgreSQL (which keep different trailing zeros) give one text.
    return format(value.normalize(), "f") if value else "0"


@dataclass(frozen=True)
class Oee:
    """OEE figures of a workstation or a line over a window.

    Times are in seconds. `planned_seconds` is shift time minus `planned_downtime_seconds`;
    `run_seconds` is `planned_seconds - stop_seconds`; `ideal_seconds` is the ideal cycle time
    of every counted unit (good and scrap). A ratio is None when its denominator is zero, and
    `oee` is None when any factor is.
    """

    planned_seconds: float
    run_seconds: float
    stop_seconds: float
    planned_downtime_seconds: float
    ideal_seconds: float
    good: Decimal
    scrap: Decimal
    total: Decimal
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None

    @classmethod
    def from_parts(
        cls,
        *,
        planned_seconds: float,
        stop_seconds: float,
        planned_downtime_seconds: float,
        ideal_seconds: float,
        good: Decimal,
        scrap: Decimal,
    ) -> Oee:
        """Derive run time and the ratios from the measured parts."""
        run = max(0.0, planned_seconds - stop_seconds)
        total = good + scrap
        availability = _ratio(run, planned_seconds)
        # Ideal time above run time means a wrong ideal cycle or counts booked outside the
        # shift; capping keeps OEE a fraction instead of rewarding the error.
        performance = _ratio(ideal_seconds, run, cap=1.0)
        quality = _ratio(float(good), float(total))
        oee = (
            None
            if availability is None or performance is None or quality is None
            else availability * performance * quality
        )
        return cls(
            planned_seconds=planned_seconds,
            run_seconds=run,
            stop_seconds=stop_seconds,
            planned_downtime_seconds=planned_downtime_seconds,
            ideal_seconds=ideal_seconds,
            good=good,
            scrap=scrap,
            total=total,
            availability=availability,
            performance=performance,
            quality=quality,
            oee=oee,
        )

    @classmethod
    def combine(cls, parts: Iterable[Oee]) -> Oee:
        """Aggregate several workstations: times and counts add up, then the ratios are taken
        from the sums (so a workstation with more planned time weighs more)."""
        parts = list(parts)
        return cls.from_parts(
            planned_seconds=sum(p.planned_seconds for p in parts),
            stop_seconds=sum(p.stop_seconds for p in parts),
            planned_downtime_seconds=sum(p.planned_downtime_seconds for p in parts),
            ideal_seconds=sum(p.ideal_seconds for p in parts),
            good=sum((p.good for p in parts), ZERO),
            scrap=sum((p.scrap for p in parts), ZERO),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: floats rounded to 4 decimals, Decimals as strings, None kept."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, Decimal):
                out[name] = _decimal_text(value)
            elif isinstance(value, float):
                out[name] = round(value, 4)
            else:
                out[name] = value
        return out


# --- Queries ------------------------------------------------------------------------------------


def _check_window(start: datetime, end: datetime) -> None:
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValueError("OEE windows need aware datetimes.")


def _downtime_intervals(
    workstation_ids: Sequence[int], start: datetime, end: datetime, now: datetime
) -> dict[int, tuple[list[Interval], list[Interval]]]:
    """(planned, unplanned) downtime intervals per workstation, clipped to the window; one query.

    A downtime still open runs until now (or the window's end, if earlier).
    """
    found: dict[int, tuple[list[Interval], list[Interval]]] = {pk: ([], []) for pk in workstation_ids}
    open_until = min(end, now)
    rows = Downtime.objects.filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=start),
        workstation_id__in=workstation_ids,
        started_at__lt=end,
    ).values_list("workstation_id", "planned", "started_at", "ended_at")
    for workstation_id, planned, started_at, ended_at in rows:
        interval = (max(started_at, start), min(ended_at or open_until, end))
        found[workstation_id][0 if planned else 1].append(interval)
    return found


def _counts(
    workstation_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, tuple[Decimal, Decimal, Decimal]]:
    """(good, scrap, ideal seconds) per workstation, summed in the database; one query."""
    found = {pk: (ZERO, ZERO, ZERO) for pk in workstation_ids}
    rows = (
        ProductionEvent.objects.filter(
            workstation_id__in=workstation_ids,
            kind__in=[EventKind.GOOD, EventKind.SCRAP],
            occurred_at__gte=start,
            occurred_at__lt=end,
        )
        .order_by()
        .values("workstation_id", "kind")
        .annotate(
            qty=Sum("quantity"),
            ideal=Sum(
                ExpressionWrapper(
                    F("quantity") * F("operation__ideal_cycle_seconds"), output_field=_ideal_field()
                ),
                output_field=_ideal_field(),
            ),
        )
    )
    for row in rows:
        good, scrap, ideal = found[row["workstation_id"]]
        qty = row["qty"] or ZERO
        ideal += row["ideal"] or ZERO
        if row["kind"] == EventKind.GOOD:
            good += qty
        else:
            scrap += qty
        found[row["workstation_id"]] = (good, scrap, ideal)
    return found


def _oee_per_workstation(
    workstation_ids: Sequence[int], site: Site, start: datetime, end: datetime, now: datetime | None
) -> dict[int, Oee]:
    """OEE of several workstations of one site, in three queries (shifts, downtime, counts)."""
    _check_window(start, end)
    if not workstation_ids:
        return {}
    now = now or timezone.now()
    # Two shifts of a site may overlap (a handover, say); the union counts that time once.
    shifts = merge_intervals((w.start, w.end) for w in shift_windows(site, start, end))
    downtimes = _downtime_intervals(workstation_ids, start, end, now)
    counts = _counts(workstation_ids, start, end)
    shift_seconds = interval_seconds(shifts)
    result: dict[int, Oee] = {}
    for pk in workstation_ids:
        planned_dt, unplanned_dt = downtimes[pk]
        planned_off = intersect_intervals(merge_intervals(planned_dt), shifts)
        # Time both planned and unplanned down is a planned stop: it is not an availability loss.
        stops = subtract_intervals(intersect_intervals(merge_intervals(unplanned_dt), shifts), planned_off)
        planned_off_seconds = interval_seconds(planned_off)
        good, scrap, ideal = counts[pk]
        result[pk] = Oee.from_parts(
            planned_seconds=shift_seconds - planned_off_seconds,
            stop_seconds=interval_seconds(stops),
            planned_downtime_seconds=planned_off_seconds,
            ideal_seconds=float(ideal),
            good=good,
            scrap=scrap,
        )
    return result


def oee_for_workstation(
    workstation: Workstation, start: datetime, end: datetime, *, now: datetime | None = None
) -> Oee:
    """OEE of one workstation over [start, end) (aware datetimes).

    Planned time follows the shift calendar of the workstation's site; open downtime counts
    until `now` (default: the current time). Good and scrap are the ledger's counts at the
    workstation with `occurred_at` in the window. A fixed number of queries.
    """
    return _oee_per_workstation([workstation.pk], workstation.line.site, start, end, now)[workstation.pk]


def oee_by_workstation(
    line: Line, start: datetime, end: datetime, *, now: datetime | None = None
) -> dict[int, Oee]:
    """OEE of each active workstation of `line` over [start, end), keyed by workstation id.

    Same rules as `oee_for_workstation`; a fixed number of queries for the whole line.
    """
    ids = list(line.workstations.filter(active=True).order_by("code").values_list("pk", flat=True))
    return _oee_per_workstation(ids, line.site, start, end, now)


def oee_for_line(line: Line, start: datetime, end: datetime, *, now: datetime | None = None) -> Oee:
    """OEE of `line` over [start, end): its active workstations' times and counts added up.

    A = total run / total planned, P = total ideal / total run (capped at 1),
    Q = total good / total count. A fixed number of queries.
    """
    return Oee.combine(oee_by_workstation(line, start, end, now=now).values())
