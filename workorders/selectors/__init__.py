"""Read-side queries of production that are more than a filter."""

from workorders.selectors.oee import (
    Oee,
    intersect_intervals,
    interval_seconds,
    merge_intervals,
    oee_by_workstation,
    oee_for_line,
    oee_for_workstation,
    subtract_intervals,
)

__all__ = [
    "Oee",
    "intersect_intervals",
    "interval_seconds",
    "merge_intervals",
    "oee_by_workstation",
    "oee_for_line",
    "oee_for_workstation",
    "subtract_intervals",
]
