"""Read-side queries of the plant kernel: which sites a user sees, and the shift calendar.

Sites scope everything, by one rule: a person sees the records of the sites they may see
(`sites_visible_to`), and a list or a page narrows what it reads with `records_visible_to`.
Which site a record belongs to follows from the model: the shortest chain of required links from
it to a site (a lot's `site`, an order's `line__site`, a checklist run's `template__site`...),
found once per model by `site_path`. Records with no such chain (products, routings, reason codes)
are plant-wide master data; a person belongs to their sites; an electronic signature belongs
to the site of the record it signs. History rows keep the links of the record they copy, so the
audit trail is narrowed by the same rule.
"""

from __future__ import annotations

import functools
from collections import deque
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import CharField, Prefetch, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from mes.compiled import Compiled
from mes.models import Line, Shift, Site, Workstation
from mes.seal.models import AuditSeal


def sees_every_site(user) -> bool:
    """Plant-wide people (and administrators) see every site."""
    return bool(user.is_superuser or getattr(user, "all_sites", False))


def sites_visible_to(user) -> QuerySet[Site]:
    if sees_every_site(user):
        return Site.objects.all()
    return Site.objects.filter(users=user)


# Where the shortest chain is not the site a record belongs to: a consumption and a genealogy link
# happen where the consuming order runs, and the consumed lot may have come from another site.
SITE_PATHS: dict[str, str] = {
    "workorders.consumption": "work_order__line__site",
    "workorders.genealogylink": "child__site",
}
# How many links `site_path` follows; the farthest record today, a checklist response, is three
# links from its site (run, template, site).
SITE_PATH_DEPTH = 4


def _live_model(model: type[models.Model]) -> type[models.Model]:
    """The model a history model copies (its rows keep the same links), or the model itself."""
    return getattr(model, "instance_type", None) or model


@functools.cache
def site_path(model: type[models.Model]) -> str | None:
    """The lookup from `model` to the site its records belong to ("site", "line__site", ...), or
    None for plant-wide records. For a history model, the path of the model it copies.

    The shortest chain of foreign keys that are never empty wins (an order belongs to its line's
    site even though it also names workstations), then the shortest chain of optional ones; ties
    go to the field declared first. `SITE_PATHS` overrides the few where that is not the site.
    """
    model = _live_model(model)
    if model is Site:
        return "id"
    if model._meta.label_lower in SITE_PATHS:
        return SITE_PATHS[model._meta.label_lower]
    people = get_user_model()
    found: list[tuple[bool, int, str]] = []
    queue = deque([(model, "", 0, False)])
    while queue:
        current, path, depth, optional = queue.popleft()
        if depth == SITE_PATH_DEPTH:
            continue
        for f in current._meta.concrete_fields:
            if not (f.many_to_one or f.one_to_one) or f.related_model in (people, ContentType, None):
                continue
            step = f"{path}__{f.name}" if path else f.name
            if f.related_model is Site:
                found.append((optional or f.null, depth + 1, step))
            else:
                queue.append((f.related_model, step, depth + 1, optional or f.null))
    return min(found, key=lambda f: f[:2])[2] if found else None


def site_condition(model: type[models.Model], sites: QuerySet[Site]) -> Q:
    """The condition on rows of `model` (or of its history) that belong to one of `sites`."""
    live = _live_model(model)
    if live is get_user_model():
        # A person of other sites only is hidden; plant-wide people and those of no site are not.
        elsewhere = live.objects.filter(sites__isnull=False, all_sites=False, is_superuser=False).exclude(
            sites__in=sites
        )
        return ~Q(id__in=elsewhere.values("pk"))
    generic = next((f for f in live._meta.private_fields if isinstance(f, GenericForeignKey)), None)
    if generic is not None:
        return _generic_condition(model, generic, sites)
    path = site_path(live)
    return Q(**{f"{path}__in": sites}) if path else Q()


def _generic_condition(model, generic: GenericForeignKey, sites: QuerySet[Site]) -> Q:
    """A record pointing at any record (a signature) belongs to the site of the record it points at."""
    condition = Q(pk__in=[])
    type_ids = model.objects.order_by().values_list(generic.ct_field, flat=True).distinct()
    for content_type in ContentType.objects.filter(pk__in=list(type_ids)):
        target = content_type.model_class()
        if target is None:
            continue
        on_target = site_condition(target, sites)
        kind = Q(**{f"{generic.ct_field}_id": content_type.pk})
        if on_target == Q():
            condition |= kind
            continue
        keys = target._base_manager.filter(on_target).annotate(_key=Cast("pk", CharField())).values("_key")
        condition |= kind & Q(**{f"{generic.fk_field}__in": keys})
    return condition


def records_visible_to(user, queryset: QuerySet) -> QuerySet:
    """The rows of `queryset` that `user` may see: those of the sites they may see, and plant-wide
    records. Every list, page, export and API that shows site data narrows its query with this."""
    if sees_every_site(user):
        return queryset
    return queryset.filter(site_condition(queryset.model, sites_visible_to(user)))


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


# The longest window the shift calendar is walked over in one call (a year, leap day included):
# each day of it is visited, and a window of centuries kept a request busy for minutes.
SHIFT_WINDOW_MAX_DAYS = 366


def shift_windows(site: Site, start: datetime, end: datetime) -> list[ShiftWindow]:
    """Every shift occurrence of the site overlapping [start, end), clipped to it, in UTC.

    Shift times are local to the site; converting each occurrence through the site's zone keeps
    a shift's wall-clock hours right across daylight-saving changes. The window spans at most
    SHIFT_WINDOW_MAX_DAYS (ValueError beyond: edges refuse longer ones with a message).
    """
    if end - start > timedelta(days=SHIFT_WINDOW_MAX_DAYS):
        raise ValueError(f"A shift calendar window spans at most {SHIFT_WINDOW_MAX_DAYS} days.")
    tz = site.tzinfo
    windows: list[ShiftWindow] = []
    shifts = _shifts_of(site)
    first_day: date = _days_after(_local_day(start, tz, date.min), -1)
    last_day: date = _local_day(end, tz, date.max)
    day = first_day
    while day <= last_day:
        for shift in shifts:
            if day.isoweekday() not in shift.weekday_set:
                continue
            try:
                local_start = datetime.combine(day, shift.start_time, tzinfo=tz)
                end_day = day + timedelta(days=1) if shift.crosses_midnight else day
                local_end = datetime.combine(end_day, shift.end_time, tzinfo=tz)
                occ_start = max(local_start.astimezone(UTC), start)
                occ_end = min(local_end.astimezone(UTC), end)
            except OverflowError:  # an occurrence past the calendar's first or last day
                continue
            if occ_start < occ_end:
                windows.append(ShiftWindow(shift, occ_start, occ_end))
        if day == date.max:
            break
        day += timedelta(days=1)
    windows.sort(key=lambda w: w.start)
    return windows


# Every live delta asks for its site's shift calendar, and building that queryset cost more than
# reading it: the read is compiled once (`mes.compiled`), in the order of `site.shifts.all()`.
_SHIFTS = Compiled(
    lambda site_id: Shift.objects.filter(site_id=site_id).order_by("start_time", "pk"), "site_id"
)


def _shifts_of(site: Site) -> list[Shift]:
    prefetched = getattr(site, "_prefetched_objects_cache", {}).get("shifts")
    if prefetched is not None:
        return list(prefetched)
    return _SHIFTS.all(site_id=site.pk)


def _local_day(moment: datetime, tz, beyond: date) -> date:
    """The site's calendar day at `moment`; `beyond` when that day is past the calendar's edge."""
    try:
        return moment.astimezone(tz).date()
    except OverflowError:
        return beyond


def _days_after(day: date, days: int) -> date:
    """`day` moved by `days`, stopping at the calendar's first or last day."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.min if days < 0 else date.max


def current_shift(site: Site, at: datetime) -> ShiftWindow | None:
    """The shift occurrence running at `at`, unclipped, or None between shifts."""
    for window in shift_windows(site, at - timedelta(days=1), at + timedelta(days=1)):
        if window.start <= at < window.end:
            return window
    return None


def site_is_visible_to(user, site) -> bool:
    """Whether `user` may see and act within `site` (a Site or its id): `sites_visible_to`'s rule
    for one site, so a tablet or a sign-in checks exactly what the selectors filter by."""
    if not getattr(user, "is_authenticated", False):
        return False
    return sites_visible_to(user).filter(pk=getattr(site, "pk", site)).exists()


def audit_seal_gauges() -> dict[str, float]:
    """The age of the newest audit seal, for the monitoring (-1: nothing sealed yet). A seal much
    older than `AUDIT_SEAL_SECONDS` means the beat process that seals is down."""
    last = AuditSeal.objects.order_by("-number").values_list("sealed_at", flat=True).first()
    return {"last_seal_age_seconds": (timezone.now() - last).total_seconds() if last else -1.0}
