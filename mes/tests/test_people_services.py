"""The people services: who may manage whom, badges, PINs, deactivation, and the history of each."""

import pytest

from mes import roles
from mes.errors import Conflict, Forbidden, ValidationFailed
from mes.models import SignInAttempt, User
from mes.people_services import (
    person_change_own_pin,
    person_create,
    person_deactivate,
    person_issue_pin,
    person_update,
)
from mes.tests.factories import SiteFactory


@pytest.fixture
def admin(make_user):
    return make_user(roles.ADMIN, username="ada")


@pytest.fixture
def far_site(db):
    return SiteFactory(code="FAR", name="Far plant")


def _create(by, site, **overrides):
    details = {
        "username": "nina",
        "first_name": "Nina",
        "last_name": "New",
        "badge_number": "2001",
        "role": roles.OPERATOR,
        "sites": [site],
        "reason": "Hired for the night shift",
    }
    return person_create(by=by, **(details | overrides))


def _details(person, **overrides):
    details = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "badge_number": person.badge_number,
        "role": roles.role_of(person),
        "sites": list(person.sites.all()),
        "all_sites": person.all_sites,
        "reason": "Moved to the day shift",
    }
    return details | overrides


def test_a_created_person_has_role_sites_and_history_with_who_and_why(supervisor, site):
    person = _create(supervisor, site)
    assert roles.role_of(person) == roles.OPERATOR
    assert list(person.sites.all()) == [site]
    assert not person.has_usable_password()
    rows = list(person.history.order_by("history_id"))
    assert [r.history_type for r in rows] == ["+", "~"]
    assert {r.history_user for r in rows} == {supervisor}
    assert {r.history_change_reason for r in rows} == {"Hired for the night shift"}
    # The last row holds the role and the sites as they were given.
    assert [g.group.name for g in rows[-1].groups.all()] == [roles.OPERATOR]
    assert [s.site for s in rows[-1].sites.all()] == [site]


def test_a_badge_already_in_use_is_refused_and_nothing_written(supervisor, operator, site):
    before = User.objects.count()
    with pytest.raises(Conflict) as refused:
        _create(supervisor, site, badge_number=" 1001 ")
    assert refused.value.field == "badge_number"
    assert User.objects.count() == before


@pytest.mark.parametrize("role", [roles.QUALITY, roles.AUDITOR, roles.ADMIN])
def test_a_supervisor_gives_no_role_above_their_own(supervisor, site, role):
    with pytest.raises(Forbidden) as refused:
        _create(supervisor, site, role=role)
    assert refused.value.field == "role"
    assert not User.objects.filter(username="nina").exists()


def test_an_unknown_role_is_refused_naming_the_field(admin, site):
    with pytest.raises(ValidationFailed) as refused:
        _create(admin, site, role="boss")
    assert refused.value.field == "role"


def test_a_supervisor_gives_no_site_they_dont_see_nor_every_site(supervisor, site, far_site):
    with pytest.raises(Forbidden) as refused:
        _create(supervisor, site, sites=[site, far_site])
    assert refused.value.field == "sites"
    with pytest.raises(Forbidden) as refused:
        _create(supervisor, site, sites=[], all_sites=True)
    assert refused.value.field == "sites"
    assert not User.objects.filter(username="nina").exists()


def test_a_person_needs_a_site(admin):
    with pytest.raises(ValidationFailed) as refused:
        _create(admin, None, sites=[])
    assert refused.value.field == "sites"


@pytest.mark.parametrize("username", ["", "has space", "semi;colon"])
def test_a_bad_username_is_refused(admin, site, username):
    with pytest.raises(ValidationFailed) as refused:
        _create(admin, site, username=username)
    assert refused.value.field == "username"


def test_an_administrator_gives_any_role_and_every_site(admin, site):
    person = _create(admin, site, role=roles.QUALITY, sites=[], all_sites=True)
    assert roles.role_of(person) == roles.QUALITY
    assert person.all_sites


def test_an_update_that_changes_nothing_writes_nothing(supervisor, site):
    person = _create(supervisor, site)
    rows = person.history.count()
    assert person_update(person=person, by=supervisor, **_details(person)) == []
    assert person.history.count() == rows


def test_an_update_writes_one_history_row_with_what_changed(supervisor, site, make_user):
    person = _create(supervisor, site)
    rows = person.history.count()
    changed = person_update(
        person=person, by=supervisor, **_details(person, badge_number="2002", role=roles.SUPERVISOR)
    )
    assert changed == ["badge_number", "role"]
    assert person.history.count() == rows + 1
    last = person.history.first()
    assert last.history_user == supervisor
    assert last.history_change_reason == "Moved to the day shift"
    assert last.badge_number == "2002"
    assert [g.group.name for g in last.groups.all()] == [roles.SUPERVISOR]


def test_a_supervisor_keeps_the_sites_of_a_person_they_dont_see(supervisor, admin, site, far_site):
    near = SiteFactory(code="NEAR")
    supervisor.sites.add(near)
    person = _create(admin, site, sites=[site, far_site])
    assert person_update(person=person, by=supervisor, **_details(person, sites=[near])) == ["sites"]
    assert set(person.sites.all()) == {near, far_site}


def test_a_supervisor_may_not_manage_people_of_other_sites_or_above_them(
    supervisor, admin, make_user, far_site
):
    elsewhere = make_user(roles.OPERATOR, site=far_site)
    quality = make_user(roles.QUALITY)
    for person in (elsewhere, quality, admin):
        with pytest.raises(Forbidden):
            person_update(person=person, by=supervisor, **_details(person, first_name="X"))
        with pytest.raises(Forbidden):
            person_deactivate(person=person, by=supervisor, reason="Left")
        with pytest.raises(Forbidden):
            person_issue_pin(person=person, by=supervisor)
    assert User.objects.filter(first_name="X").count() == 0
    assert User.objects.filter(is_active=False).count() == 0


def test_nobody_changes_their_own_role(admin):
    with pytest.raises(Forbidden) as refused:
        person_update(person=admin, by=admin, **_details(admin, role=roles.OPERATOR))
    assert refused.value.field == "role"


def test_an_issued_pin_is_six_digits_stored_hashed_and_in_the_history(supervisor, operator):
    pin = person_issue_pin(person=operator, by=supervisor, reason="Forgot the PIN")
    assert len(pin) == 6
    assert pin.isdigit()
    operator.refresh_from_db()
    assert operator.check_pin(pin)
    assert not operator.check_pin("1234")
    assert pin not in operator.pin_hash
    last = operator.history.first()
    assert (last.history_user, last.history_change_reason) == (supervisor, "Forgot the PIN")


def test_a_pin_needs_a_badge(supervisor, site):
    person = _create(supervisor, site, badge_number="")
    with pytest.raises(ValidationFailed) as refused:
        person_issue_pin(person=person, by=supervisor, reason="First day")
    assert refused.value.field == "badge_number"


def test_deactivation_needs_a_reason_and_is_in_the_history(supervisor, operator):
    with pytest.raises(ValidationFailed) as refused:
        person_deactivate(person=operator, by=supervisor, reason=" ")
    assert refused.value.field == "reason"
    operator.refresh_from_db()
    assert operator.is_active
    person_deactivate(person=operator, by=supervisor, reason="Left the company")
    operator.refresh_from_db()
    assert not operator.is_active
    last = operator.history.first()
    assert (last.history_user, last.history_change_reason) == (supervisor, "Left the company")
    with pytest.raises(Conflict):
        person_deactivate(person=operator, by=supervisor, reason="Again")
    with pytest.raises(Conflict):
        person_issue_pin(person=operator, by=supervisor, reason="Back again?")


def test_nobody_deactivates_themselves(supervisor):
    with pytest.raises(Conflict):
        person_deactivate(person=supervisor, by=supervisor, reason="Bored")
    supervisor.refresh_from_db()
    assert supervisor.is_active


def test_an_operator_changes_their_own_pin(operator):
    person_change_own_pin(user=operator, old_pin="1234", new_pin="97531", new_pin_again="97531")
    operator.refresh_from_db()
    assert operator.check_pin("97531")
    last = operator.history.first()
    assert (last.history_user, last.history_change_reason) == (operator, "PIN changed by its holder")


@pytest.mark.parametrize(
    ("old", "new", "again", "field"),
    [
        ("0000", "5678", "5678", "old_pin"),
        ("", "5678", "5678", "old_pin"),
        ("1234", "5678", "5679", "new_pin_again"),
        ("1234", "1234", "1234", "new_pin"),
        ("1234", "123", "123", "new_pin"),
        ("1234", "123456789", "123456789", "new_pin"),
        ("1234", "12a4", "12a4", "new_pin"),
        ("1234", "²²²²", "²²²²", "new_pin"),
    ],
)
def test_a_refused_pin_change_names_the_field_and_keeps_the_old_pin(operator, old, new, again, field):
    with pytest.raises(ValidationFailed) as refused:
        person_change_own_pin(user=operator, old_pin=old, new_pin=new, new_pin_again=again)
    assert refused.value.field == field
    operator.refresh_from_db()
    assert operator.check_pin("1234")


def test_a_wrong_current_pin_counts_like_a_failed_badge_sign_in(operator):
    with pytest.raises(ValidationFailed):
        person_change_own_pin(user=operator, old_pin="9999", new_pin="5678", new_pin_again="5678")
    attempt = SignInAttempt.objects.get()
    assert (attempt.kind, attempt.identifier, attempt.succeeded) == ("badge", "1001", False)
