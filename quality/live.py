"""What quality adds to the live line status: open nonconformances and active holds per line.

Registered from `QualityConfig.ready()`: `line_figures` feeds the dashboards' snapshots. The
nonconformance and hold services announce the line of each one they open, move, place or
release, so the dashboards get a delta with the new counts after the commit.
"""

from __future__ import annotations

from collections import Counter

from django.db.models import Q

from quality.models import Hold, Nonconformance
from quality.states import HoldStatus, NonconformanceStatus
from workorders.live.broadcast import announce_line


def line_figures(line_ids: list[int]) -> dict[int, dict[str, int]]:
    """Open (not closed) nonconformances at each line, by workstation or else by order, and the
    active holds on the line's orders. Two queries."""
    ncs = Counter(
        ws_line or order_line
        for ws_line, order_line in Nonconformance.objects.exclude(status=NonconformanceStatus.CLOSED)
        .filter(Q(workstation__line_id__in=line_ids) | Q(work_order__line_id__in=line_ids))
        .values_list("workstation__line_id", "work_order__line_id")
    )
    holds = Counter(
        Hold.objects.filter(status=HoldStatus.ACTIVE, work_order__line_id__in=line_ids).values_list(
            "work_order__line_id", flat=True
        )
    )
    return {pk: {"nonconformances": ncs[pk], "holds": holds[pk]} for pk in line_ids}


def _line_of(record: Nonconformance | Hold) -> int | None:
    workstation = getattr(record, "workstation", None)
    if workstation is not None:
        return workstation.line_id
    return record.work_order.line_id if record.work_order_id else None


def announce(record: Nonconformance | Hold) -> None:
    """After a nonconformance or hold changed: its line's dashboards hear of it after commit."""
    line_id = _line_of(record)
    if line_id is not None:
        announce_line(line_id)
