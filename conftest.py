"""Fixtures shared by every app's tests."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.test.utils import override_settings
from django.utils import translation

from mes import roles
from mes.tests.factories import SiteFactory, UserFactory, WorkstationFactory, signed_in

PASSWORD = "pass-word-1"

# The roles the migrations made, {group: [(app_label, model, codename, name), ...]}, read once from
# the fresh test database. A transactional test ends by emptying every table; Django then recreates
# the content types and the permissions of today's models, but the groups come from data
# migrations and are gone, and so are the permissions only a migration made (a model's history).
MIGRATED_ROLES: dict[str, list[tuple[str, str, str, str]]] = {}
PERMISSION_FIELDS = ("content_type__app_label", "content_type__model", "codename", "name")


def _roles_in_database() -> dict[str, list[tuple[str, str, str, str]]]:
    found: dict[str, list[tuple[str, str, str, str]]] = {
        name: [] for name in Group.objects.values_list("name", flat=True)
    }
    links = Group.permissions.through.objects.values_list(
        "group__name", *(f"permission__{field}" for field in PERMISSION_FIELDS)
    )
    for name, *permission in links:
        found[name].append(tuple(permission))
    return found


def restore_migrated_roles() -> None:
    """Put back the groups and their permissions as the migrations left them, if they are gone.
    Idempotent; one query when nothing is missing."""
    if Group.objects.filter(name__in=MIGRATED_ROLES).count() == len(MIGRATED_ROLES):
        return
    with transaction.atomic():
        existing = {
            (app_label, codename): pk
            for pk, app_label, codename in Permission.objects.values_list(
                "pk", "content_type__app_label", "codename"
            )
        }
        for name, permissions in MIGRATED_ROLES.items():
            group, _ = Group.objects.get_or_create(name=name)
            pks = []
            for app_label, model, codename, title in permissions:
                if (app_label, codename) not in existing:
                    content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
                    existing[app_label, codename] = Permission.objects.create(
                        content_type=content_type, codename=codename, name=title
                    ).pk
                pks.append(existing[app_label, codename])
            group.permissions.set(pks)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, and a note of the roles its migrations made (see `restore_migrated_roles`)."""
    with django_db_blocker.unblock():
        MIGRATED_ROLES.update(_roles_in_database())


def _is_transactional(request) -> bool:
    """The test runs on the real database, not in a transaction rolled back at its end (as
    pytest-django decides it)."""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None:
        options = dict(zip(("transaction", "reset_sequences"), marker.args, strict=False)) | marker.kwargs
        if options.get("transaction") or options.get("reset_sequences"):
            return True
    return bool({"transactional_db", "live_server", "django_db_reset_sequences"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def _migrated_roles(request):
    """A transactional test finds the roles the migrations made, though an earlier one emptied
    the database (Django's `serialized_rollback` would restore them by reloading every row the
    migrations wrote, before each such test)."""
    if _is_transactional(request):
        request.getfixturevalue("transactional_db")
        restore_migrated_roles()


FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _site_language():
    """Each test starts in the site's language. A request leaves its language active in the
    thread (Django's LocaleMiddleware and ours answer every request in its own language, so a
    server never needs it back); a test that asserts English after a German request would not."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_password_hashing(request, settings):
    # The production hasher takes a noticeable fraction of a second per hash by design. Tests
    # that sign in through a separate server process keep it, since that process checks hashes.
    if request.node.get_closest_marker("browser") is None:
        settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(scope="module")
def demo_plant(django_db_setup, django_db_blocker):
    """The whole demo plant (`seed_demo`), seeded once for a module and undone after its last test.

    Seeding takes long; each test still runs in a transaction of its own inside this one (a
    savepoint), so it sees the plant as seeded whatever the tests before it wrote. Every later
    test of the module sees the plant too.
    """
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS), transaction.atomic():
        call_command("seed_demo", verbosity=0)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def site(db):
    return SiteFactory(code="PLANT1", name="Plant one")


@pytest.fixture
def workstation(site):
    return WorkstationFactory(line__site=site, code="CNC1", name="CNC lathe 1")


@pytest.fixture
def make_user(db, site):
    def make(role: str | None = None, **kwargs):
        return UserFactory(role=role, site=kwargs.pop("site", site), **kwargs)

    return make


@pytest.fixture
def operator(make_user):
    return make_user(roles.OPERATOR, username="olga", badge=("1001", "1234"))


@pytest.fixture
def supervisor(make_user):
    return make_user(roles.SUPERVISOR, username="sam")


@pytest.fixture
def client_for():
    """A new test client signed in at the desk as the given user."""

    def sign_in(user):
        return signed_in(Client(), user)

    return sign_in


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` need PostgreSQL; on the embedded SQLite run they are skipped."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (runs in the DATABASE_URL=postgres:// pass of CI)")
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)
