"""Read-side queries of the plant kernel: which sites a user sees, and the shift calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import Prefetch, QuerySet

from mes.models import Line, Shift, Site, Workstation


def sites_visible_to(user) -> QuerySet[Site]:
    if user.is_superuser or getattr(user, "all_sites", False):
        return Site.objects.all()
    return Site.objects.filter(users=user)


def plant_tree(user) -> QuerySet[Site]:
    """Sites the user sees with their lines and workstations, in three queries."""
    return sites_visible_to(user).prefetch_related(
        Prefetch("lines", queryset=Line.objects.order_by("code")),
        Prefetch("lines__workstations", queryset=Workstation.objects.order_by("code")),
        Prefetch("shifts", queryset=Shift.objects.order_by("start_time")),
    )


@dataclass(frozen=True)
class ShiftWindow:
    shift: Shift
    start: datetime  # UTC
    end: datetime  # UTC

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def shift_windows(site: Site, start: datetime, end: datetime) -> list[ShiftWindow]:
    """Every shift occurrence of the site overlapping [start, end), clipped to it, in UTC.

    Shift times are local to the site; converting each occurrence through the site's zone keeps
    a shift's wall-clock hours right across daylight-saving changes.
    """
    tz = site.tzinfo
    windows: list[ShiftWindow] = []
    shifts = list(site.shifts.all())
    first_day: date = start.astimezone(tz).date() - timedelta(days=1)
    last_day: date = end.astimezone(tz).date()
    day = first_day
    while day <= last_day:
        for shift in shifts:
            if day.isoweekday() not in shift.weekday_set:
                continue
            local_start = datetime.combine(day, shift.start_time, tzinfo=tz)
            end_day = day + timedelta(days=1) if shift.crosses_midnight else day
            local_end = datetime.combine(end_day, shift.end_time, tzinfo=tz)
            occ_start = max(local_start.astimezone(UTC), start)
            occ_end = min(local_end.astimezone(UTC), end)
            if occ_start < occ_end:
                windows.append(ShiftWindow(shift, occ_start, occ_end))
        day += timedelta(days=1)
    windows.sort(key=lambda w: w.start)
    return windows


def current_shift(site: Site, at: datetime) -> ShiftWindow | None:
    """The shift occurrence running at `at`, unclipped, or None between shifts."""
    for window in shift_windows(site, at - timedelta(days=1), at + timedelta(days=1)):
        if window.start <= at < window.end:
            return window
    return None
