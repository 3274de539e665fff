from django.contrib.auth import authenticate
from django.core.management import call_command

from mes import demo, roles
from mes.models import Line, Shift, Site, User, Workstation
from mes.selectors import sites_visible_to


def counts():
    return [m.objects.count() for m in (Site, Line, Workstation, Shift, User)]


def test_seed_demo_builds_the_demo_plant_and_is_idempotent(demo_plant, db, capsys):
    first = counts()
    assert first == [2, 4, 11, 5, len(demo.DEMO_LOGINS)]
    assert sorted(Line.objects.values_list("name", flat=True)) == [
        "Assembly",
        "Machining",
        "Packaging",
        "Service kits",
    ]
    call_command("seed_demo")
    assert counts() == first
    call_command("seed_demo", "--if-empty")
    assert counts() == first
    output = capsys.readouterr().out
    assert "not seeding" in output
    for login in demo.DEMO_LOGINS:
        assert login.username in output and login.password in output


def test_every_demo_login_works_with_its_role_and_sees_its_sites(demo_plant, db):
    for login in demo.DEMO_LOGINS:
        user = authenticate(username=login.username, password=login.password)
        assert user is not None, login.username
        assert roles.role_of(user) == login.role
        sees = set(sites_visible_to(user).values_list("code", flat=True))
        assert sees == ({demo.DEMO_SITE, demo.SECOND_SITE} if login.plant_wide else {login.site}), login
        if login.badge:
            assert authenticate(badge_number=login.badge, pin=login.pin) == user
