"""SPC reads: individuals / moving-range charts of a numeric checklist item at a workstation, the
Western Electric rules, and process capability (Cp/Cpk, Pp/Ppk) from the measured values.

A *series* is what one chart shows: the current (not superseded) numbers answered to one item of a
template (the item's position, across the template's versions) at one workstation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext_noop

from mes.models import Workstation
from mes.selectors import sites_visible_to
from quality.models import ChecklistItem, ChecklistResponse, SpcSignal
from quality.states import ItemKind, VersionStatus

# Shewhart constants for moving ranges of two: sigma = MR-bar / d2, UCL(MR) = D4 * MR-bar.
D2 = 1.128
D4 = 3.267
LIMIT = 100  # the values a chart shows, the latest
BASELINE = 25  # the first values of those that set the centre line and control limits (Phase I)

# In English as recorded (a signal's evidence keeps these words); pages translate them when shown.
RULES = {
    1: gettext_noop("beyond 3 sigma"),
    2: gettext_noop("2 of 3 beyond 2 sigma on one side"),
    3: gettext_noop("4 of 5 beyond 1 sigma on one side"),
    4: gettext_noop("8 in a row on one side of the centre line"),
}
RULE_SPAN = {1: 1, 2: 3, 3: 5, 4: 8}  # how many points, ending at the flagged one, make the run


@dataclass
class SpcPoint:
    index: int
    value: float
    moving_range: float | None
    at: datetime
    response_id: int
    rules: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Capability:
    """Process capability of the values on a chart; a figure that can't be computed is None."""

    n: int
    mean: float | None = None
    sigma_within: float | None = None
    sigma_overall: float | None = None
    cp: float | None = None
    cpk: float | None = None
    pp: float | None = None
    ppk: float | None = None


@dataclass
class SpcChart:
    item: ChecklistItem
    workstation: Workstation
    points: list[SpcPoint]
    centre: float | None
    ucl: float | None
    lcl: float | None
    sigma: float | None
    mr_bar: float | None
    mr_ucl: float | None
    lsl: float | None
    usl: float | None
    baseline: int

    @cached_property
    def capability(self) -> Capability:
        """Computed when asked: the pages show it, judging a submission does not need it."""
        return capability([p.value for p in self.points], self.lsl, self.usl)

    @property
    def flagged(self) -> list[SpcPoint]:
        return [p for p in self.points if p.rules]

    @property
    def established(self) -> bool:
        """Whether the control limits rest on a full baseline, so a broken rule is a signal to act
        on rather than the noise of a handful of first values (Phase II)."""
        return self.baseline >= BASELINE and self.sigma is not None

    def point_of(self, response_id: int) -> SpcPoint | None:
        return next((p for p in self.points if p.response_id == response_id), None)


def western_electric(
    values: list[float], centre: float, sigma: float, *, only: Iterable[int] | None = None
) -> list[list[int]]:
    """Rules 1-4 per point: 1) beyond 3 sigma; 2) 2 of 3 in a row beyond 2 sigma on one side; 3) 4 of
    5 in a row beyond 1 sigma on one side; 4) 8 in a row on one side of the centre line. A point is flagged
    with a rule when it completes (is the last of) a run that breaks it.

    `only`: the indexes of the points to judge (the others keep no flags), as a submission judges
    just the values it brings; every point when None."""
    flags: list[list[int]] = [[] for _ in values]
    if sigma <= 0:
        return flags
    z = [(v - centre) / sigma for v in values]
    for i in range(len(z)) if only is None else sorted(only):
        if abs(z[i]) > 3:
            flags[i].append(1)
        for side in (1, -1):
            last3 = z[max(0, i - 2) : i + 1]
            if len(last3) == 3 and side * z[i] > 2 and sum(1 for x in last3 if side * x > 2) >= 2:
                flags[i].append(2)
            last5 = z[max(0, i - 4) : i + 1]
            if len(last5) == 5 and side * z[i] > 1 and sum(1 for x in last5 if side * x > 1) >= 4:
                flags[i].append(3)
            last8 = z[max(0, i - 7) : i + 1]
            if len(last8) == 8 and all(side * x > 0 for x in last8):
                flags[i].append(4)
    return [sorted(set(f)) for f in flags]


def capability(values: list[float], lsl: float | None, usl: float | None) -> Capability:
    """Cp/Cpk (short term) and Pp/Ppk (long term) of `values` against the spec limits.

    With x̄ the mean of the n values:

    - sigma within  = MR̄ / d2, MR̄ the mean of the n - 1 moving ranges |x_i - x_(i-1)|, d2 = 1.128
      (ranges of two consecutive values: the individuals chart's own estimate);
    - sigma overall = the sample standard deviation, sqrt(Σ(x - x̄)² / (n - 1));
    - Cp  = (USL - LSL) / (6 · sigma within);   Cpk = min(USL - x̄, x̄ - LSL) / (3 · sigma within);
    - Pp  = (USL - LSL) / (6 · sigma overall);  Ppk = min(USL - x̄, x̄ - LSL) / (3 · sigma overall).

    With one spec limit only, Cp and Pp are undefined and Cpk/Ppk are the one-sided index of that
    limit (Cpu or Cpl). A figure is None when it can't be computed: fewer than two values, no spec
    limit, or no spread at all (every value equal).
    """
    n = len(values)
    if n < 2:
        return Capability(n=n, mean=values[0] if values else None)
    mean = sum(values) / n
    mr_bar = sum(abs(values[i] - values[i - 1]) for i in range(1, n)) / (n - 1)
    within = mr_bar / D2
    overall = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))

    def potential(sigma: float) -> float | None:
        if lsl is None or usl is None or sigma <= 0:
            return None
        return (usl - lsl) / (6 * sigma)

    sides = [usl - mean] if usl is not None else []
    sides += [mean - lsl] if lsl is not None else []

    def actual(sigma: float) -> float | None:
        if not sides or sigma <= 0:
            return None
        return min(sides) / (3 * sigma)

    return Capability(
        n=n,
        mean=mean,
        sigma_within=within,
        sigma_overall=overall,
        cp=potential(within),
        cpk=actual(within),
        pp=potential(overall),
        ppk=actual(overall),
    )


Row = tuple[int, float, datetime]  # response id, value, recorded at


def series_rows(
    *, template_id: int, positions: list[int], workstation_id: int, limit: int = LIMIT
) -> dict[int, list[Row]]:
    """The latest `limit` current values of each item position of a template at a workstation,
    oldest first, by position. One query, however many positions (a window function ranks each
    series, so a run with several numeric items costs its submission no more than one)."""
    ranked = (
        ChecklistResponse.objects.filter(
            item__version__template_id=template_id,
            item__position__in=positions,
            item__kind=ItemKind.NUMBER,
            run__workstation_id=workstation_id,
            value_number__isnull=False,
            superseded_by__isnull=True,
        )
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("item__position")],
                order_by=[F("recorded_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=limit)
        .values_list("item__position", "pk", "value_number", "recorded_at")
    )
    found: dict[int, list[Row]] = {p: [] for p in positions}
    for position, pk, value, at in ranked:
        found[position].append((pk, float(value), at))
    for rows in found.values():
        rows.sort(key=lambda row: (row[2], row[0]))
    return found


def chart_from_rows(
    *,
    item: ChecklistItem,
    workstation: Workstation,
    rows: list[Row],
    baseline: int = BASELINE,
    judged: set[int] | None = None,
) -> SpcChart:
    """The chart of a series' rows (oldest first). Centre line and limits come from the first
    `baseline` points (Phase I), so a drift after them shows against them. `judged`: the response
    ids whose points are judged against the rules (every point when None)."""
    values = [v for _, v, _ in rows]
    points = [
        SpcPoint(index=i, value=v, moving_range=abs(v - values[i - 1]) if i else None, at=at, response_id=pk)
        for i, (pk, v, at) in enumerate(rows)
    ]
    base = values[: max(2, baseline)] if len(values) >= 2 else []
    centre = ucl = lcl = sigma = mr_bar = mr_ucl = None
    if len(base) >= 2:
        centre = sum(base) / len(base)
        ranges = [abs(base[i] - base[i - 1]) for i in range(1, len(base))]
        mr_bar = sum(ranges) / len(ranges)
        sigma = mr_bar / D2
        ucl, lcl, mr_ucl = centre + 3 * sigma, centre - 3 * sigma, D4 * mr_bar
        only = None if judged is None else [p.index for p in points if p.response_id in judged]
        for point, rules in zip(points, western_electric(values, centre, sigma, only=only), strict=True):
            point.rules = rules
    lsl = float(item.lsl) if item.lsl is not None else None
    usl = float(item.usl) if item.usl is not None else None
    return SpcChart(
        item=item,
        workstation=workstation,
        points=points,
        centre=centre,
        ucl=ucl,
        lcl=lcl,
        sigma=sigma,
        mr_bar=mr_bar,
        mr_ucl=mr_ucl,
        lsl=lsl,
        usl=usl,
        baseline=len(base),
    )


def spc_chart(
    *, item: ChecklistItem, workstation: Workstation, limit: int = LIMIT, baseline: int = BASELINE
) -> SpcChart:
    """Individuals / moving-range chart of a numeric item at a workstation over its last `limit`
    current (not superseded) values, with the capability of those values."""
    rows = series_rows(
        template_id=item.version.template_id,
        positions=[item.position],
        workstation_id=workstation.pk,
        limit=limit,
    )[item.position]
    return chart_from_rows(item=item, workstation=workstation, rows=rows, baseline=baseline)


def spc_series(user) -> list[tuple[ChecklistItem, Workstation]]:
    """The numeric items with spec limits and the workstations where they were measured."""
    pairs = (
        ChecklistResponse.objects.filter(
            item__kind=ItemKind.NUMBER,
            run__workstation__line__site__in=sites_visible_to(user),
            value_number__isnull=False,
            run__version__status=VersionStatus.EFFECTIVE,
        )
        .values_list("item_id", "run__workstation_id")
        .distinct()
    )
    pairs = list(pairs)
    items = ChecklistItem.objects.in_bulk([i for i, _ in pairs])
    stations = Workstation.objects.select_related("line__site").in_bulk([w for _, w in pairs])
    return sorted(
        ((items[i], stations[w]) for i, w in pairs),
        key=lambda p: (p[0].version.template_id, p[0].position, p[1].code),
    )


def spc_signals(*, item: ChecklistItem, workstation: Workstation, limit: int = 50) -> list[SpcSignal]:
    """The rules broken on a chart, latest first, with the nonconformance each one went to."""
    return list(
        SpcSignal.objects.filter(
            item__version__template_id=item.version.template_id,
            item__position=item.position,
            workstation=workstation,
        )
        .select_related("nonconformance", "response")
        .order_by("-detected_at", "-pk")[:limit]
    )
