"""Reads about people for quality's desk: who is qualified where, who still has to read what, and
whose Start a training guard refused lately."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from mes import roles
from mes.models import User, Workstation
from mes.selectors import records_visible_to, sites_visible_to
from quality.models import Qualification, SopAcknowledgement, SopVersion, StartRefusal
from quality.states import VersionStatus


def qualifications_visible_to(user) -> QuerySet[Qualification]:
    """Every qualification at the sites `user` sees, the current ones of a workstation first."""
    return (
        Qualification.objects.filter(workstation__line__site__in=sites_visible_to(user))
        .select_related("user", "workstation__line__site", "granted_by", "revoked_by")
        .order_by("workstation__line__site__code", "workstation__code", "user__username", "-valid_until")
    )


def workstations_visible_to(user) -> QuerySet[Workstation]:
    return Workstation.objects.filter(line__site__in=sites_visible_to(user)).select_related("line__site")


def operators_visible_to(user) -> QuerySet[User]:
    """The active operators of the sites `user` sees, with the sites they work at."""
    return (
        User.objects.filter(is_active=True, groups__name=roles.OPERATOR)
        .filter(sites__in=sites_visible_to(user))
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


@dataclass(frozen=True)
class Unread:
    person: User
    versions: list[SopVersion]


def sops_unread(user) -> list[Unread]:
    """For each operator of the sites `user` sees, the effective SOP versions attached to an
    operation of their site that they have not acknowledged. Four queries, whatever the size."""
    versions = list(
        SopVersion.objects.filter(
            status=VersionStatus.EFFECTIVE,
            document__site__in=sites_visible_to(user),
            document__operations__isnull=False,
        )
        .select_related("document__site")
        .distinct()
        .order_by("document__site__code", "document__code")
    )
    if not versions:
        return []
    operators = list(operators_visible_to(user).prefetch_related(Prefetch("sites", to_attr="site_list")))
    read = set(
        SopAcknowledgement.objects.filter(version__in=versions, user__in=operators).values_list(
            "version_id", "user_id"
        )
    )
    answer = []
    for person in operators:
        sites = {site.pk for site in person.site_list}
        missing = [v for v in versions if v.document.site_id in sites and (v.pk, person.pk) not in read]
        if missing:
            answer.append(Unread(person=person, versions=missing))
    return answer


RECENT_REFUSALS = 50


def refused_starts_visible_to(user, *, limit: int = RECENT_REFUSALS) -> list[StartRefusal]:
    """The latest Starts refused by a qualification or SOP guard at the sites `user` sees, newest
    first, with who, where and which order: one query."""
    refusals = StartRefusal.objects.select_related(
        "user", "workstation__line__site", "work_order", "operation"
    )
    return list(records_visible_to(user, refusals).order_by("-refused_at", "-id")[:limit])
