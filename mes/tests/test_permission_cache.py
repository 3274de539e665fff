"""Permissions are read once and then come from the shared cache, and any change of roles counts
from the next request, in every process."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mes import roles
from mes.auth import PERMISSIONS_VERSION_KEY
from mes.models import User

RECORD = "workorders.record_production"


@pytest.fixture
def shared_cache(settings, tmp_path):
    """A cache every process shares (the file cache here, Redis in production)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }


def _next_request(user) -> User:
    """The person as a new request loads them: a fresh instance, nothing cached on it."""
    return User.objects.get(pk=user.pk)


def _checks(user, perm=RECORD) -> tuple[bool, int]:
    person = _next_request(user)
    with CaptureQueriesContext(connection) as queries:
        allowed = person.has_perm(perm)
    return allowed, len(queries)


@pytest.mark.django_db
def test_permissions_are_read_once_then_taken_from_the_shared_cache(shared_cache, make_user):
    operator = make_user(roles.OPERATOR)
    assert _checks(operator) == (True, 1)
    assert _checks(operator) == (True, 0)
    assert _checks(operator, "workorders.override_quantity") == (False, 0)


@pytest.mark.django_db
def test_a_role_taken_away_counts_from_the_next_request(shared_cache, make_user):
    operator = make_user(roles.OPERATOR)
    assert _checks(operator) == (True, 1)
    assert _checks(operator) == (True, 0)

    operator.groups.remove(Group.objects.get(name=roles.OPERATOR))
    assert _checks(operator) == (False, 1)


@pytest.mark.django_db
def test_a_set_read_by_another_request_before_the_change_committed_is_not_used_after(
    shared_cache, make_user, django_capture_on_commit_callbacks
):
    """Another process that reads between the role's removal and its commit still sees the old
    rows, and caches them under the version the removal already moved on to."""
    operator = make_user(roles.OPERATOR)
    with django_capture_on_commit_callbacks(execute=True):
        operator.groups.remove(Group.objects.get(name=roles.OPERATOR))
        version = cache.get(PERMISSIONS_VERSION_KEY)
        stale = (version, sorted({RECORD, "mes.use_tablet"}))
        cache.set(f"mes:permissions:user:{operator.pk}", stale)  # what the other request kept
        assert _checks(operator) == (True, 0)  # the window itself: the change is not committed
    assert _checks(operator) == (False, 1)


@pytest.mark.django_db
def test_a_role_given_a_permission_given_or_taken_from_a_group_counts_at_once(shared_cache, make_user):
    person = make_user()
    assert _checks(person, "workorders.override_quantity") == (False, 1)

    person.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    assert _checks(person, "workorders.override_quantity") == (True, 1)

    override = Permission.objects.get(codename="override_quantity")
    Group.objects.get(name=roles.SUPERVISOR).permissions.remove(override)
    assert _checks(person, "workorders.override_quantity") == (False, 1)

    person.user_permissions.add(override)
    assert _checks(person, "workorders.override_quantity") == (True, 1)


@pytest.mark.django_db
def test_a_person_deactivated_or_made_superuser_is_judged_on_the_record_not_the_cache(
    shared_cache, make_user
):
    operator = make_user(roles.OPERATOR)
    assert _checks(operator) == (True, 1)
    operator.is_active = False
    operator.save()
    assert _checks(operator) == (False, 0)


@pytest.mark.django_db
def test_a_per_process_cache_keeps_nothing(make_user, settings):
    # The embedded mode's local-memory cache: another process could not invalidate it.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    operator = make_user(roles.OPERATOR)
    assert _checks(operator) == (True, 1)
    assert _checks(operator) == (True, 1)
