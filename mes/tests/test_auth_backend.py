"""Permissions come from the user's own grants and their groups', read in one query."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mes import roles
from mes.auth import PermissionBackend
from mes.models import User


def _perm(codename: str) -> Permission:
    return Permission.objects.get(codename=codename)


@pytest.mark.django_db
def test_own_and_group_permissions_both_count_and_take_one_query(make_user):
    user = make_user(roles.OPERATOR)
    user.user_permissions.add(_perm("override_quantity"))
    user = User.objects.get(pk=user.pk)  # no permission cache yet

    with CaptureQueriesContext(connection) as queries:
        assert user.has_perm("workorders.override_quantity")  # granted to the user
        assert user.has_perm("workorders.record_production")  # through the operator group
        assert not user.has_perm("workorders.change_workorder")  # neither
    assert len(queries) == 1

    expected = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.filter(group__user=user).select_related("content_type")
    } | {"workorders.override_quantity"}
    assert user.get_all_permissions() == expected


@pytest.mark.django_db
def test_a_permission_two_ways_counts_once_and_leaving_the_group_takes_it_away(make_user):
    user = make_user(roles.OPERATOR)
    user.user_permissions.add(_perm("record_production"))  # also through the group
    assert User.objects.get(pk=user.pk).has_perm("workorders.record_production")

    user.groups.remove(Group.objects.get(name=roles.OPERATOR))
    fresh = User.objects.get(pk=user.pk)
    assert fresh.get_all_permissions() == {"workorders.record_production"}
    assert not fresh.has_perm("workorders.view_workorder")


@pytest.mark.django_db
def test_an_inactive_user_has_no_permissions_and_a_superuser_has_all(make_user):
    inactive = make_user(roles.SUPERVISOR, is_active=False)
    assert not inactive.has_perm("workorders.view_workorder")
    assert inactive.get_all_permissions() == set()

    admin = make_user(is_superuser=True)
    assert admin.has_perm("workorders.override_quantity")
    assert len(User.objects.get(pk=admin.pk).get_all_permissions()) == Permission.objects.count()


@pytest.mark.django_db
def test_a_session_finds_its_person_while_they_may_sign_in_and_nobody_else(make_user):
    backend = PermissionBackend()
    person = make_user(roles.OPERATOR)
    found = backend.get_user(str(person.pk))  # a session keeps the key as text
    assert found == person and found.username == person.username

    assert backend.get_user(str(person.pk + 1000)) is None
    assert backend.get_user("not-a-key") is None
    User.objects.filter(pk=person.pk).update(is_active=False)
    assert backend.get_user(str(person.pk)) is None  # deactivated: their open sessions end
