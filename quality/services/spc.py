"""SPC signals: a measured value that breaks a Western Electric rule on its chart opens a
nonconformance with the values as evidence and, where the site asks for it, raises a quality andon
call at the workstation (the site's quality settings: `spc_nonconformance`, `spc_andon`).

Once, and only once:
- a signal is a (response, rule) pair under a unique constraint: judging the same values again
  finds it recorded and does nothing more;
- while a chart has a nonconformance still open or under investigation from an earlier signal, a
  new signal is added to it as evidence instead of opening another (a drift of twenty points is
  one problem, not twenty); once it is dispositioned or closed, the next signal opens a new one;
- rules are judged only once the control limits rest on a full baseline (`spc.BASELINE` values):
  on the first handful of values a "signal" is noise.

The judging runs inside the checklist submission's (or correction's) transaction and costs it one
query for all its numeric items while nothing signals; the rest runs only when something does.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from django.utils import timezone

from mes.models import User, Workstation
from quality.models import ChecklistResponse, ChecklistRun, Nonconformance, QualitySettings, SpcSignal
from quality.services.nonconformances import open_automatic
from quality.services.records import lock, save
from quality.spc import RULE_SPAN, RULES, SpcChart, SpcPoint, chart_from_rows, series_rows, spc_chart
from quality.states import ItemKind, NonconformanceStatus
from workorders.live.states import AndonKind
from workorders.services.andon import andon_raise

# A signal joins a nonconformance nobody has decided on yet; a disposition covers what it saw.
JOINABLE = [NonconformanceStatus.OPEN, NonconformanceStatus.INVESTIGATING]
ANDON_KEYS = uuid.UUID("5b0c3c1e-7a52-4d0e-9a43-2f4f6f1c5e10")  # namespace of the andon calls' keys


@dataclass(frozen=True)
class Breach:
    """A point of a chart that breaks one or more rules, and the response it was measured in."""

    chart: SpcChart
    point: SpcPoint
    response: ChecklistResponse


def spc_judge_responses(
    *, run: ChecklistRun, workstation: Workstation, responses: list[ChecklistResponse], user: User
) -> list[SpcSignal]:
    """Judge the numbers just recorded in `run` on their charts (inside the caller's transaction)
    and act on the rules they break; returns the signals recorded now. One query when nothing
    signals."""
    numeric = [r for r in responses if r.item.kind == ItemKind.NUMBER and r.value_number is not None]
    if not numeric:
        return []
    positions = sorted({r.item.position for r in numeric})
    rows = series_rows(template_id=run.template_id, positions=positions, workstation_id=workstation.pk)
    breaches = []
    for response in numeric:
        chart = chart_from_rows(
            item=response.item,
            workstation=workstation,
            rows=rows[response.item.position],
            judged={response.pk},
        )
        point = chart.point_of(response.pk)
        if chart.established and point is not None and point.rules:
            breaches.append(Breach(chart, point, response))
    return _act(breaches, workstation=workstation, user=user)


def spc_judge_chart(*, chart: SpcChart, user: User) -> list[SpcSignal]:
    """Judge every point of a chart again and act on what was not recorded yet: for a chart whose
    values came in before its rules were judged, or to prove that judging twice changes nothing.
    Returns the signals recorded now."""
    if not chart.established:
        return []
    flagged = chart.flagged
    responses = ChecklistResponse.objects.select_related("run", "item").in_bulk(
        [p.response_id for p in flagged]
    )
    breaches = [Breach(chart, p, responses[p.response_id]) for p in flagged]
    return _act(breaches, workstation=chart.workstation, user=user)


def spc_judge_series(*, item, workstation: Workstation, user: User) -> list[SpcSignal]:
    """`spc_judge_chart` of the item's chart at the workstation, as the SPC page draws it."""
    return spc_judge_chart(chart=spc_chart(item=item, workstation=workstation), user=user)


def _act(breaches: list[Breach], *, workstation: Workstation, user: User) -> list[SpcSignal]:
    if not breaches:
        return []
    # Serialises the signals of a workstation, so two submissions at once can't both find no open
    # nonconformance and open two (andon_raise takes the same lock, after this one).
    station = (
        Workstation.objects.select_for_update(of=("self",))
        .select_related("line__site")
        .get(pk=workstation.pk)
    )
    recorded = set(
        SpcSignal.objects.filter(response_id__in=[b.response.pk for b in breaches]).values_list(
            "response_id", "rule"
        )
    )
    fresh: dict[int, list[tuple[Breach, int]]] = defaultdict(list)
    for breach in breaches:
        for rule in breach.point.rules:
            if (breach.response.pk, rule) not in recorded:
                fresh[breach.chart.item.position].append((breach, rule))
    if not fresh:
        return []
    rules = QualitySettings.objects.filter(site_id=station.line.site_id).first() or QualitySettings()
    signals: list[SpcSignal] = []
    for found in fresh.values():
        signals += _series_signals(found, station=station, settings_row=rules, user=user)
    return signals


def _series_signals(
    found: list[tuple[Breach, int]], *, station: Workstation, settings_row: QualitySettings, user: User
) -> list[SpcSignal]:
    """Record one chart's new signals, on its open nonconformance or a new one."""
    chart = found[0][0].chart
    item = chart.item
    nc, opened = None, False
    if settings_row.spc_nonconformance:
        nc = _open_nonconformance_of(chart, station)
        if nc is not None:
            nc.description = f"{nc.description}\n\n{_evidence_text(found)}".strip()
            save(nc, user=user, reason=f"SPC signal added: {_rules_text(found)}", fields=["description"])
        else:
            last = found[-1][0].response
            nc = open_automatic(
                site=station.line.site,
                title=f"SPC signal: {item.prompt[:120]} at {station.code} ({_rules_text(found)})",
                description=f"{_limits_text(chart)}\n\n{_evidence_text(found)}",
                work_order_id=last.run.work_order_id,
                operation_id=last.run.operation_id,
                workstation=station,
                response=last,
                item=item,
                operator_id=last.recorded_by_id,
                opened_by=user,
            )
            opened = True
    now = timezone.now()
    signals = []
    for breach, rule in found:
        signal = SpcSignal(
            response=breach.response,
            item=breach.response.item,
            workstation=station,
            rule=rule,
            evidence=_evidence(breach, rule),
            nonconformance=nc,
            detected_by=user,
            detected_at=now,
        )
        save(signal, user=user, reason=f"SPC rule {rule} broken", clean=False)
        signals.append(signal)
    if settings_row.spc_andon and (opened or nc is None):
        andon_raise(
            workstation=station,
            user=user,
            kind=AndonKind.QUALITY,
            key=uuid.uuid5(ANDON_KEYS, f"spc-signal-{signals[0].pk}"),
            note=(f"{nc.number}: " if nc else "") + f"SPC {item.prompt[:200]} ({_rules_text(found)})",
            source="spc",
        )
    return signals


def _open_nonconformance_of(chart: SpcChart, station: Workstation) -> Nonconformance | None:
    """The nonconformance an earlier signal of this chart opened, while nobody has decided on it."""
    nc_id = (
        SpcSignal.objects.filter(
            workstation=station,
            item__version__template_id=chart.item.version.template_id,
            item__position=chart.item.position,
            nonconformance__status__in=JOINABLE,
        )
        .order_by("-pk")
        .values_list("nonconformance_id", flat=True)
        .first()
    )
    if nc_id is None:
        return None
    nc = lock(Nonconformance, nc_id)
    return nc if nc.status in JOINABLE else None


# --- evidence ---------------------------------------------------------------------------------


def _window(breach: Breach, rule: int) -> list[SpcPoint]:
    """The points whose run breaks the rule, ending at the flagged one."""
    end = breach.point.index + 1
    return breach.chart.points[max(0, end - RULE_SPAN[rule]) : end]


def _evidence(breach: Breach, rule: int) -> dict:
    chart = breach.chart
    points = _window(breach, rule)
    return {
        "rule": rule,
        "rule_text": RULES[rule],
        "values": [p.value for p in points],
        "response_ids": [p.response_id for p in points],
        "points": [p.index + 1 for p in points],
        "centre": chart.centre,
        "ucl": chart.ucl,
        "lcl": chart.lcl,
        "sigma": chart.sigma,
        "baseline": chart.baseline,
    }


def _rules_text(found: list[tuple[Breach, int]]) -> str:
    rules = sorted({rule for _, rule in found})
    return ("rule " if len(rules) == 1 else "rules ") + ", ".join(map(str, rules))


def _limits_text(chart: SpcChart) -> str:
    unit = f" {chart.item.unit}" if chart.item.unit else ""
    return (
        f"Control limits from the first {chart.baseline} values: centre {chart.centre:.4f}, "
        f"UCL {chart.ucl:.4f}, LCL {chart.lcl:.4f}, sigma {chart.sigma:.4f}{unit}."
    )


def _evidence_text(found: list[tuple[Breach, int]]) -> str:
    lines = []
    for breach, rule in found:
        points = _window(breach, rule)
        decimals = breach.chart.item.decimals
        values = ", ".join(f"{p.value:.{decimals}f}" for p in points)
        where = (
            f"#{points[0].index + 1}"
            if len(points) == 1
            else f"#{points[0].index + 1}-#{points[-1].index + 1}"
        )
        at = timezone.localtime(breach.point.at).strftime("%Y-%m-%d %H:%M %Z")
        unit = f" {breach.chart.item.unit}" if breach.chart.item.unit else ""
        lines.append(f"Rule {rule} ({RULES[rule]}), points {where} up to {at}: {values}{unit}.")
    return "\n".join(lines)
