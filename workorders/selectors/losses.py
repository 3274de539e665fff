"""Where the time went: the six big losses, the OEE loss waterfall and Pareto of the reasons.

The figures are those of `workorders.selectors.oee` (one implementation of OEE), broken down:

- the waterfall: planned time -> availability loss (the stop time) -> performance loss (run time
  the counts' ideal time does not fill) -> quality loss (the share of that ideal time spent on
  scrap) -> good time. Good time is planned time x OEE, so the steps add up to the OEE figure.
- the six big losses: each recorded stop counts under the loss its downtime reason maps to
  (breakdown, setup, small stop, reduced speed). OEE takes every recorded stop out of run time,
  so a stop coded as a small stop is in the availability step of the waterfall; the performance
  step, computed from ideal cycle time against counts, is slow running and stops nobody recorded,
  which the counts cannot tell apart: it is the reduced-speed loss. The quality step is split
  between process defects and reduced yield (start-up) in proportion to the scrapped quantity
  of the scrap reasons mapped to each; a scrap reason mapped to neither is a production reject,
  a process defect.
- Pareto of downtime reasons (minutes of stop time) and of scrap reasons (units).

Where stops overlap (a tablet booking late), the time is counted once, for the stop that started
first, so the reasons' minutes add up to the stop time. A fixed number of queries whatever the
number of events, stops or workstations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.content import text_in_language
from mes.models import Line, Shift, Site, Workstation
from mes.selectors import shift_windows
from workorders.models import Downtime, ProductionEvent
from workorders.selectors.oee import (
    Interval,
    Oee,
    intersect_intervals,
    interval_seconds,
    merge_intervals,
    oee_by_workstation,
    oee_for_workstation,
    subtract_intervals,
)
from workorders.states import EventKind, Loss

ZERO = Decimal("0")
PERIODS = ("shift", "day", "week")
SCRAP_LOSSES = (Loss.PROCESS_DEFECT, Loss.REDUCED_YIELD)
DOWNTIME_LOSSES = (Loss.BREAKDOWN, Loss.SETUP, Loss.SMALL_STOP, Loss.REDUCED_SPEED)


def period_window(
    site: Site, period: str, day: date, shift: Shift | None = None
) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the site-local `day`, the ISO week (Monday to Monday) holding it, or
    the occurrence of `shift` that starts on it.

    UTC, because Python subtracts two datetimes of one zone by their wall clocks: a day with a
    daylight-saving change would count an hour too many or too few.
    """
    tz = site.tzinfo
    midnight = datetime.min.time()
    if period == "shift":
        if shift is None:
            raise ValueError("A shift period needs a shift.")
        end_day = day + timedelta(days=1) if shift.crosses_midnight else day
        start = datetime.combine(day, shift.start_time, tzinfo=tz)
        end = datetime.combine(end_day, shift.end_time, tzinfo=tz)
    elif period == "week":
        monday = day - timedelta(days=day.isoweekday() - 1)
        start = datetime.combine(monday, midnight, tzinfo=tz)
        end = datetime.combine(monday + timedelta(days=7), midnight, tzinfo=tz)
    elif period == "day":
        start = datetime.combine(day, midnight, tzinfo=tz)
        end = datetime.combine(day + timedelta(days=1), midnight, tzinfo=tz)
    else:
        raise ValueError(f"Unknown period {period!r}.")
    return start.astimezone(UTC), end.astimezone(UTC)


# --- The result ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParetoRow:
    code: str
    name: str
    value: float
    share: float
    cumulative: float


@dataclass(frozen=True)
class LossReport:
    """The losses of a line or workstation over [start, end). Times are in seconds."""

    start: datetime
    end: datetime
    oee: Oee
    losses: dict[str, float]  # Loss value -> seconds, in the order of `Loss`
    waterfall: list[tuple[str, float]]  # (step, seconds): planned, three losses, good
    downtime_pareto: list[ParetoRow]  # seconds of stop time per downtime reason
    scrap_pareto: list[ParetoRow]  # units per scrap reason

    @property
    def good_seconds(self) -> float:
        return self.waterfall[-1][1]

    def loss_rows(self) -> list[tuple[str, str, float]]:
        """(loss, label, seconds) of the six big losses, in the order of `Loss`."""
        return [(loss, Loss(loss).label, seconds) for loss, seconds in self.losses.items()]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: minutes rounded to 2 decimals, shares to 4."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "oee": self.oee.as_dict(),
            "losses": [
                {"loss": loss, "label": label, "minutes": _minutes(seconds)}
                for loss, label, seconds in self.loss_rows()
            ],
            "waterfall": [{"step": step, "minutes": _minutes(seconds)} for step, seconds in self.waterfall],
            "downtime_pareto": [_pareto_dict(row, minutes=True) for row in self.downtime_pareto],
            "scrap_pareto": [_pareto_dict(row, minutes=False) for row in self.scrap_pareto],
        }


def _minutes(seconds: float) -> float:
    return round(seconds / 60, 2)


def _pareto_dict(row: ParetoRow, *, minutes: bool) -> dict[str, Any]:
    value = {"minutes": _minutes(row.value)} if minutes else {"units": round(row.value, 3)}
    return {
        "code": row.code,
        "name": row.name,
        **value,
        "share": round(row.share, 4),
        "cumulative": round(row.cumulative, 4),
    }


WATERFALL_STEPS = ("planned", "availability", "performance", "quality", "good")


def pareto(values: dict[tuple[str, str], float]) -> list[ParetoRow]:
    """Rows by value, largest first (then by code), with each one's share and the running share."""
    total = sum(values.values())
    rows: list[ParetoRow] = []
    running = 0.0
    for (code, name), value in sorted(values.items(), key=lambda item: (-item[1], item[0][0])):
        if value <= 0:
            continue
        running += value
        rows.append(ParetoRow(code, name, value, value / total, min(running / total, 1.0)))
    return rows


# --- Queries ------------------------------------------------------------------------------------


def _stops_by_reason(
    workstation_ids: Sequence[int], shifts: list[Interval], start: datetime, end: datetime, now: datetime
) -> dict[tuple[str, str, str], float]:
    """Seconds of unplanned stop inside planned production time per (loss, code, name) of the
    downtime reason, as OEE counts them; one query.

    Time both planned and unplanned down is planned (as in OEE); time two stops share goes to the
    one that started first.
    """
    rows = (
        Downtime.objects.filter(
            Q(ended_at__isnull=True) | Q(ended_at__gt=start),
            workstation_id__in=workstation_ids,
            started_at__lt=end,
        )
        .order_by("workstation_id", "started_at", "pk")
        .values_list(
            "workstation_id",
            "planned",
            "started_at",
            "ended_at",
            "reason__loss",
            "reason__code",
            "reason__name",
            "reason__translations",
        )
    )
    open_until = min(end, now)
    planned: dict[int, list[Interval]] = defaultdict(list)
    unplanned: dict[int, list[tuple[Interval, tuple[str, str, str]]]] = defaultdict(list)
    for workstation_id, is_planned, started_at, ended_at, loss, code, name, translations in rows:
        name = text_in_language(name, translations, "name")
        interval = (max(started_at, start), min(ended_at or open_until, end))
        if is_planned:
            planned[workstation_id].append(interval)
        else:
            unplanned[workstation_id].append((interval, (loss or Loss.BREAKDOWN, code, name)))
    found: dict[tuple[str, str, str], float] = defaultdict(float)
    for workstation_id, stops in unplanned.items():
        covered = intersect_intervals(merge_intervals(planned[workstation_id]), shifts)
        for interval, reason in stops:
            piece = subtract_intervals(intersect_intervals([interval], shifts), covered)
            found[reason] += interval_seconds(piece)
            covered = merge_intervals([*covered, interval])
    return found


def _scrap_by_reason(
    workstation_ids: Sequence[int], start: datetime, end: datetime
) -> dict[tuple[str, str, str], Decimal]:
    """Scrapped units per (loss, code, name) of the scrap reason, summed in the database; one query."""
    rows = (
        ProductionEvent.objects.filter(
            workstation_id__in=workstation_ids,
            kind=EventKind.SCRAP,
            occurred_at__gte=start,
            occurred_at__lt=end,
        )
        .order_by()
        .values("reason__loss", "reason__code", "reason__name", "reason__translations")
        .annotate(qty=Sum("quantity"))
    )
    found: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        loss = row["reason__loss"] if row["reason__loss"] in SCRAP_LOSSES else Loss.PROCESS_DEFECT
        name = text_in_language(row["reason__name"], row["reason__translations"], "name") or _("No reason")
        found[(loss, row["reason__code"] or "", name)] += row["qty"] or ZERO
    return found


def _report(
    oee: Oee, workstation_ids: Sequence[int], site: Site, start: datetime, end: datetime, now: datetime
) -> LossReport:
    shifts = merge_intervals((w.start, w.end) for w in shift_windows(site, start, end))
    stops = _stops_by_reason(workstation_ids, shifts, start, end, now) if workstation_ids else {}
    scrap = _scrap_by_reason(workstation_ids, start, end) if workstation_ids else {}

    net = oee.run_seconds * (oee.performance or 0.0)  # run time the counts' ideal time fills
    quality_loss = net * (1 - oee.quality) if oee.quality is not None else 0.0
    losses = {loss: 0.0 for loss in Loss.values}
    for (loss, _code, _name), seconds in stops.items():
        losses[loss] += seconds
    losses[Loss.REDUCED_SPEED] += oee.run_seconds - net
    scrapped = sum(scrap.values(), ZERO)
    for (loss, _code, _name), qty in scrap.items():
        losses[loss] += quality_loss * float(qty / scrapped) if scrapped else 0.0

    downtime_values: dict[tuple[str, str], float] = defaultdict(float)
    for (_loss, code, name), seconds in stops.items():
        downtime_values[(code, name)] += seconds
    scrap_values: dict[tuple[str, str], float] = defaultdict(float)
    for (_loss, code, name), qty in scrap.items():
        scrap_values[(code, name)] += float(qty)
    waterfall = list(
        zip(
            WATERFALL_STEPS,
            (oee.planned_seconds, oee.stop_seconds, oee.run_seconds - net, quality_loss, net - quality_loss),
            strict=True,
        )
    )
    return LossReport(
        start=start,
        end=end,
        oee=oee,
        losses=losses,
        waterfall=waterfall,
        downtime_pareto=pareto(downtime_values),
        scrap_pareto=pareto(scrap_values),
    )


def losses_for_workstation(
    workstation: Workstation, start: datetime, end: datetime, *, now: datetime | None = None
) -> LossReport:
    """The losses of one workstation over [start, end) (aware datetimes); a fixed number of queries."""
    now = now or timezone.now()
    oee = oee_for_workstation(workstation, start, end, now=now)
    return _report(oee, [workstation.pk], workstation.line.site, start, end, now)


def losses_for_line(line: Line, start: datetime, end: datetime, *, now: datetime | None = None) -> LossReport:
    """The losses of `line` over [start, end): its active workstations' figures added up, as
    `oee_for_line` adds them; a fixed number of queries."""
    now = now or timezone.now()
    per_workstation = oee_by_workstation(line, start, end, now=now)
    return _report(Oee.combine(per_workstation.values()), list(per_workstation), line.site, start, end, now)
