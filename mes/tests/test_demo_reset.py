"""`seed_demo --reset` (`make demo-reset`) starts the demo plant over without reinstalling, and
never wipes a plant that is not the demo's."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from mes import demo, roles
from mes.models import Line, Site, User


@pytest.fixture
def reseed(monkeypatch):
    """The demo's seeders, replaced by one that records what it found (the full seed is slow and
    proved by test_seed_demo)."""
    found = []

    def seeder(say):
        found.append((Site.objects.count(), User.objects.count()))
        Site.objects.create(code=demo.DEMO_SITE, name="Demo Plant", time_zone="Europe/Berlin")

    monkeypatch.setattr(demo, "seeders", lambda: [("the plant", seeder)])
    return found


def test_reset_deletes_the_demo_data_keeps_the_roles_and_seeds_again(db, site, make_user, reseed, capsys):
    make_user(roles.SUPERVISOR, username="someone-added-in-the-demo")
    Line.objects.create(site=site, code="EXTRA", name="A line added in the demo")
    groups = set(Group.objects.values_list("name", flat=True))

    call_command("seed_demo", "--reset")

    assert reseed == [(0, 0)], "the seeders start from an empty plant"
    assert list(Site.objects.values_list("code", flat=True)) == [demo.DEMO_SITE]
    assert not Line.objects.exists() and not User.objects.exists()
    assert set(Group.objects.values_list("name", flat=True)) == groups
    assert Group.objects.get(name=roles.SUPERVISOR).permissions.exists(), "the roles keep their permissions"
    output = capsys.readouterr().out
    assert "Demo plant ready." in output and "supervisor-demo" in output


def test_reset_refuses_a_database_with_a_site_the_demo_does_not_have(db, site, reseed):
    Site.objects.create(code="ACME", name="A real plant", time_zone="UTC")
    with pytest.raises(CommandError, match="ACME"):
        call_command("seed_demo", "--reset")
    assert Site.objects.count() == 2 and reseed == []
