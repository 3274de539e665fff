"""Read side of the people desk: whom a person may manage, which roles and sites they may give.

One rule, used by the desk's lists and forms and enforced again by `mes.people_services`:

- an administrator (the admin role, or a superuser) manages everyone and gives every role and site;
- a supervisor manages the people of their own sites, gives only the roles up to supervisor
  (`SUPERVISOR_GRANTS`), and only the sites they see; plant-wide people (every site, or a
  superuser) and people of no site are the administrators' to manage.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from mes import roles
from mes.models import Site, User
from mes.selectors import sites_visible_to

# ALL_ROLES runs from the least to the most powerful; a supervisor gives no role above their own.
SUPERVISOR_GRANTS = roles.ALL_ROLES[: roles.ALL_ROLES.index(roles.SUPERVISOR) + 1]


def is_administrator(user) -> bool:
    return roles.role_of(user) == roles.ADMIN


def roles_grantable_by(user) -> list[str]:
    """The roles `user` may give a person, least powerful first."""
    if is_administrator(user):
        return list(roles.ALL_ROLES)
    if roles.role_of(user) == roles.SUPERVISOR:
        return list(SUPERVISOR_GRANTS)
    return []


def sites_grantable_by(user) -> QuerySet[Site]:
    """The sites `user` may give a person: the ones they see."""
    return sites_visible_to(user)


def may_grant_every_site(user) -> bool:
    """Whether `user` may make a person plant-wide (every site): an administrator only."""
    return is_administrator(user)


def people_managed_by(user) -> QuerySet[User]:
    """The people `user` may see and change at the people desk (see the module's rule)."""
    people = User.objects.all()
    if is_administrator(user):
        return people
    if roles.role_of(user) != roles.SUPERVISOR:
        return people.none()
    above = [role for role in roles.ALL_ROLES if role not in SUPERVISOR_GRANTS]
    shared = people.filter(sites__in=sites_visible_to(user)).values("pk")
    return people.filter(pk__in=shared, is_superuser=False, all_sites=False).exclude(
        Q(groups__name__in=above)
    )


def may_manage(user, person: User) -> bool:
    return people_managed_by(user).filter(pk=person.pk).exists()


def people_list(user, *, site: Site | None = None, active: bool | None = True) -> QuerySet[User]:
    """The people desk's list: the people `user` manages, narrowed to one site and to the active
    (True) or deactivated (False) ones; roles and sites read in two more queries, not per row."""
    people = people_managed_by(user)
    if site is not None:
        people = people.filter(sites=site)
    if active is not None:
        people = people.filter(is_active=active)
    return people.order_by("last_name", "first_name", "username").prefetch_related("groups", "sites")
