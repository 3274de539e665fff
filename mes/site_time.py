"""Every time a page shows is in the site's zone, and the page says which zone that is.

The database keeps UTC (USE_TZ). A request renders its times in the zone of the site it is about:
the bound tablet's site, else the zone the person's sites share. A person whose sites lie in
different zones (a plant-wide auditor, say) reads the zone of their first site, and every page
names the zone it uses (the top bar), so no time is left to guess.

The zone is looked up only when the request first needs it (a page that formats a time, a form
that reads one): an API call or a fragment without times costs no query.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from django.conf import settings
from django.utils import timezone

from mes import tablets
from mes.selectors import sites_visible_to


@dataclass(frozen=True)
class SiteZone:
    """The zone a request shows its times in: its name, and whether the person's sites use more
    than one zone (then pages that list several sites' times say so)."""

    name: str
    mixed: bool = False


def zone_for(request) -> SiteZone:
    workstation = tablets.bound_workstation(request)
    if workstation is not None:
        return SiteZone(workstation.line.site.time_zone)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return SiteZone(settings.TIME_ZONE)
    zones = list(sites_visible_to(user).order_by("code").values_list("time_zone", flat=True)[:50])
    if not zones:
        return SiteZone(settings.TIME_ZONE)
    return SiteZone(zones[0], mixed=len(set(zones)) > 1)


class LazySiteZone(tzinfo):
    """A tzinfo that becomes the request's site zone the first time a time is converted with it."""

    def __init__(self, request):
        self._request = request
        self._zone: zoneinfo.ZoneInfo | None = None
        self._site_zone: SiteZone | None = None

    @property
    def site_zone(self) -> SiteZone:
        if self._site_zone is None:
            self._site_zone = zone_for(self._request)
        return self._site_zone

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        if self._zone is None:
            self._zone = zoneinfo.ZoneInfo(self.site_zone.name)
        return self._zone

    def _real(self, dt: datetime | None) -> datetime | None:
        return dt.replace(tzinfo=self.zone) if dt is not None else None

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return self.zone.utcoffset(self._real(dt))

    def dst(self, dt: datetime | None) -> timedelta | None:
        return self.zone.dst(self._real(dt))

    def tzname(self, dt: datetime | None) -> str | None:
        return self.zone.tzname(self._real(dt))

    def fromutc(self, dt: datetime) -> datetime:
        return self.zone.fromutc(dt.replace(tzinfo=self.zone)).replace(tzinfo=self)

    def __str__(self) -> str:
        return self.site_zone.name

    def __repr__(self) -> str:
        return f"<LazySiteZone {self._site_zone.name if self._site_zone else '(not yet read)'}>"


API_PREFIX = "/api/"


class SiteTimeZoneMiddleware:
    """Activates the request's site zone for templates, forms and `timezone.localtime()`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX):
            # Machines read the API: its times stay UTC whoever asks (DRF renders in the active zone).
            return self.get_response(request)
        zone = LazySiteZone(request)
        request.site_zone = zone
        with timezone.override(zone):
            return self.get_response(request)
