"""Authentication backends: badge + PIN sign-in on a workstation tablet, and permissions."""

from __future__ import annotations

import logging
import uuid

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

from mes.compiled import Compiled

log = logging.getLogger(__name__)

_PERSON = Compiled(lambda pk: get_user_model()._default_manager.filter(pk=pk).order_by(), "pk")


class BadgePinBackend(BaseBackend):
    def authenticate(self, request, badge_number: str | None = None, pin: str | None = None, **kwargs):
        if not badge_number or not pin:
            return None
        User = get_user_model()
        user = User.objects.filter(badge_number=badge_number, is_active=True).first()
        if user is None:
            # Spend the same time as a real check so badge numbers can't be probed by timing.
            make_password(pin)
            return None
        return user if user.check_pin(pin) else None

    def get_user(self, user_id):
        User = get_user_model()
        return User.objects.filter(pk=user_id, is_active=True).first()


class PermissionBackend(ModelBackend):
    """Django's model backend, reading a user's own and group permissions in one query, not two,
    and keeping what it read in the shared cache: a permission check guards every production
    request, and roles change seldom.

    A cached set is used only while the permissions version it was read under is current. Every
    change that can alter anyone's permissions moves the version on (`permissions_changed`): a
    role given or taken, a group's permissions, a person's own permissions, a group or
    permission deleted, a person created, a person's sites, a site, line or workstation changed
    or deleted (they decide who reaches what: `access_version`), a migrate. So a change counts
    from the next request, in every process. Both the version and the set come in one cache round trip. With a
    per-process cache (the embedded mode) nothing is kept: another process could not tell it
    of a change.
    """

    def get_user(self, user_id):
        """The signed-in person of a request, as `ModelBackend.get_user` reads them; every request
        does, so the statement is compiled once (`mes.compiled`)."""
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        found = _PERSON.all(pk=pk)
        return found[0] if found and self.user_can_authenticate(found[0]) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = _cached_permissions(user_obj)
        return user_obj._perm_cache


def access_version(user) -> str | None:
    """The permissions version this request read `user`'s permissions under (reading them if not
    yet read), or None when there is none (no shared cache, the cache unreachable, a superuser).

    What a person may reach follows from their roles, their sites and where each workstation and
    line stands; a change of any of these moves the version on. So a decision about access kept
    under this version (`workorders.selectors.floor.workstation_visible_to`) holds until then."""
    if not getattr(user, "is_authenticated", False) or not user.is_active or user.is_superuser:
        return None  # a superuser's checks read no permissions: nothing to key a decision by
    if not hasattr(user, "_perm_cache"):
        user.get_all_permissions()
    return getattr(user, "_access_version", None)


PERMISSIONS_VERSION_KEY = "mes:permissions:version"
PERMISSIONS_CACHE_SECONDS = 600  # a net only: changes move the version on at once


def _read_permissions(user) -> set[str]:
    columns = ("content_type__app_label", "codename")
    own = Permission.objects.filter(user=user).order_by().values_list(*columns)
    via_groups = Permission.objects.filter(group__user=user).order_by().values_list(*columns)
    return {f"{app}.{codename}" for app, codename in own.union(via_groups)}


def _shared_cache() -> bool:
    return not isinstance(caches["default"], LocMemCache)


def _cached_permissions(user) -> set[str]:
    if not _shared_cache():
        return _read_permissions(user)
    key = f"mes:permissions:user:{user.pk}"
    try:
        found = cache.get_many([PERMISSIONS_VERSION_KEY, key])
        version = found.get(PERMISSIONS_VERSION_KEY)
        entry = found.get(key)
        if version is not None and entry is not None and entry[0] == version:
            user._access_version = version
            return set(entry[1])
        if version is None:
            cache.add(PERMISSIONS_VERSION_KEY, uuid.uuid4().hex, timeout=None)
            version = cache.get(PERMISSIONS_VERSION_KEY)
    except Exception:  # the cache is a shortcut: without it, the database answers
        log.warning("permission cache unavailable; reading permissions from the database", exc_info=True)
        return _read_permissions(user)
    # Read under the version seen before reading: a change made meanwhile moves the version on,
    # and this entry is never used.
    permissions = _read_permissions(user)
    user._access_version = version
    try:
        cache.set(key, (version, sorted(permissions)), timeout=PERMISSIONS_CACHE_SECONDS)
    except Exception:
        log.warning("permission cache unavailable; not keeping the permissions read", exc_info=True)
    return permissions


def permissions_changed(**kwargs) -> None:
    """Move the permissions version on: every cached permission set is stale from now, and again
    once the change commits. A request that reads between the signal and the commit still sees
    the old rows and caches them under the new version; the second move makes that entry stale
    too, so a role taken away never lingers in the cache."""
    if not _shared_cache():
        return
    _move_permissions_version()
    transaction.on_commit(_move_permissions_version)


def _move_permissions_version() -> None:
    try:
        cache.set(PERMISSIONS_VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        # Cached sets then live out their time (PERMISSIONS_CACHE_SECONDS) unless the cache is
        # back sooner; the change itself is saved.
        log.error("could not invalidate cached permissions after a change of roles", exc_info=True)


def _m2m_of_permissions(sender, action, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear") and sender in _permission_links():
        permissions_changed()


def _permission_links() -> set:
    User = get_user_model()
    return {User.groups.through, User.user_permissions.through, Group.permissions.through, User.sites.through}


def _person_created(sender, created=False, raw=False, **kwargs) -> None:
    if created:
        permissions_changed()


def _placement_changed(sender, created=False, **kwargs) -> None:
    """A site, line or workstation changed: a new one is reached by no kept decision, a changed
    one may now stand elsewhere."""
    if not created:
        permissions_changed()


def connect_permission_cache() -> None:
    """Connect the changes that invalidate cached permissions; called from `MesConfig.ready`."""
    m2m_changed.connect(_m2m_of_permissions, dispatch_uid="mes.auth.m2m")
    post_save.connect(_person_created, sender=get_user_model(), dispatch_uid="mes.auth.person")
    for model in (Group, Permission):
        post_delete.connect(
            permissions_changed, sender=model, dispatch_uid=f"mes.auth.delete.{model.__name__}"
        )
    # Where a workstation or line stands decides who reaches it (`access_version`).
    for model in (
        apps.get_model("mes", "Site"),
        apps.get_model("mes", "Line"),
        apps.get_model("mes", "Workstation"),
    ):
        post_save.connect(_placement_changed, sender=model, dispatch_uid=f"mes.auth.save.{model.__name__}")
        post_delete.connect(
            permissions_changed, sender=model, dispatch_uid=f"mes.auth.delete.{model.__name__}"
        )
    post_migrate.connect(permissions_changed, dispatch_uid="mes.auth.migrate")
