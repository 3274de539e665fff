"""Fixtures shared by every app's tests."""

import pytest

from mes import roles
from mes.tests.factories import SiteFactory, UserFactory, WorkstationFactory

PASSWORD = "pass-word-1"


@pytest.fixture(autouse=True)
def _fast_password_hashing(request, settings):
    # The production hasher takes a noticeable fraction of a second per hash by design. Tests
    # that sign in through a separate server process keep it, since that process checks hashes.
    if request.node.get_closest_marker("browser") is None:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
def client_for(client):
    """A test client signed in as the given user (through the real sign-in page)."""

    def sign_in(user):
        from django.test import Client

        c = Client()
        response = c.post("/login/", {"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, response.content[:500]
        return c

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
