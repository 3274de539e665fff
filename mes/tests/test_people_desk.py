"""The people desk over HTTP, and the tablet's "Change my PIN"."""

import pytest

from mes import roles
from mes.models import User
from mes.tests.factories import SiteFactory


@pytest.fixture
def desk(supervisor, client_for):
    return client_for(supervisor)


@pytest.fixture
def far_site(db):
    return SiteFactory(code="FAR", name="Far plant")


def _new_person(site, **overrides):
    data = {
        "username": "nina",
        "first_name": "Nina",
        "last_name": "New",
        "badge_number": "2001",
        "role": roles.OPERATOR,
        "sites": [site.pk],
        "reason": "Hired",
    }
    return data | overrides


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (roles.OPERATOR, 403),
        (roles.QUALITY, 403),
        (roles.AUDITOR, 403),
        (roles.SUPERVISOR, 200),
        (roles.ADMIN, 200),
    ],
)
def test_supervisors_and_admins_reach_the_people_desk(make_user, client_for, role, expected):
    client = client_for(make_user(role))
    assert client.get("/people/").status_code == expected
    assert client.get("/people/new/").status_code == expected
    page = client.get("/plant/").content.decode() if role != roles.OPERATOR else ""
    assert ('href="/people/"' in page) == (expected == 200)


def test_anonymous_people_desk_redirects_to_sign_in(client, db):
    assert client.get("/people/")["Location"].startswith("/login/?next=/people/")


def test_the_list_shows_the_people_of_the_supervisors_sites_only(desk, operator, make_user, far_site):
    make_user(roles.OPERATOR, username="farah", site=far_site)
    page = desk.get("/people/").content.decode()
    assert "olga" in page
    assert "farah" not in page


def test_the_list_filters_by_site_and_active(desk, operator, supervisor, make_user, site):
    other = SiteFactory(code="SECOND")
    supervisor.sites.add(other)
    make_user(roles.OPERATOR, username="sid", site=other)
    make_user(roles.OPERATOR, username="gone", is_active=False)
    page = desk.get("/people/", {"site": other.pk}).content.decode()
    assert "sid" in page
    assert "olga" not in page
    assert "gone" not in desk.get("/people/").content.decode()
    assert "gone" in desk.get("/people/", {"active": "no"}).content.decode()
    assert desk.get("/people/", {"site": "abc", "active": "maybe"}).status_code == 200


def test_the_list_reads_in_a_fixed_number_of_queries(desk, make_user, django_assert_max_num_queries):
    for _ in range(3):
        make_user(roles.OPERATOR)
    with django_assert_max_num_queries(30) as few:
        desk.get("/people/")
    for _ in range(10):
        make_user(roles.OPERATOR)
    with django_assert_max_num_queries(len(few.captured_queries)):
        desk.get("/people/")


def test_a_supervisor_creates_a_person(desk, supervisor, site):
    response = desk.post("/people/new/", _new_person(site))
    person = User.objects.get(username="nina")
    assert response.status_code == 302
    assert response["Location"] == f"/people/{person.pk}/"
    assert roles.role_of(person) == roles.OPERATOR
    assert person.history.first().history_user == supervisor


def test_a_badge_in_use_answers_409_at_its_field_keeping_what_was_typed(desk, operator, site):
    before = User.objects.count()
    response = desk.post("/people/new/", _new_person(site, badge_number="1001"))
    assert response.status_code == 409
    page = response.content.decode()
    assert 'id="badge_number-error"' in page
    assert "already in use" in page
    assert 'value="nina"' in page
    assert 'value="Nina"' in page
    assert User.objects.count() == before


def test_a_supervisor_granting_admin_is_refused_at_the_role(desk, site):
    response = desk.post("/people/new/", _new_person(site, role=roles.ADMIN))
    assert response.status_code == 403
    assert 'id="role-error"' in response.content.decode()
    assert not User.objects.filter(username="nina").exists()


def test_a_supervisor_granting_another_site_is_refused_at_the_sites(desk, site, far_site):
    response = desk.post("/people/new/", _new_person(site, sites=[site.pk, far_site.pk]))
    assert response.status_code == 403
    assert 'id="sites-error"' in response.content.decode()
    assert not User.objects.filter(username="nina").exists()


@pytest.mark.parametrize(
    ("field", "value"), [("username", ""), ("username", "a b"), ("email", "not-mail"), ("sites", "x")]
)
def test_bad_input_answers_400_at_its_field(desk, site, field, value):
    response = desk.post("/people/new/", _new_person(site, **{field: value}))
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.content.decode()
    assert not User.objects.filter(first_name="Nina").exists()


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_person_is_not_added_or_changed_without_a_reason_given(desk, operator, site, reason):
    """The desk writes no reason of its own: the person acting says why, or nothing is written."""
    page = desk.get("/people/new/").content.decode()
    assert 'name="reason" maxlength="100" required value=""' in page
    before = list(User.history.values_list("history_id", flat=True))
    response = desk.post("/people/new/", _new_person(site, reason=reason))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="reason-error"' in page and "Say why this person is added" in page
    assert 'value="nina"' in page  # what was typed stays
    assert not User.objects.filter(username="nina").exists()

    data = _new_person(site, badge_number="1009", reason=reason)
    data.pop("username")
    response = desk.post(f"/people/{operator.pk}/", data)
    assert response.status_code == 400
    assert 'id="reason-error"' in response.content.decode()
    operator.refresh_from_db()
    assert operator.badge_number == "1001"

    response = desk.post(f"/people/{operator.pk}/pin/", {"reason": reason})
    assert response.status_code == 400
    assert "Say why a new PIN is issued" in response.content.decode()
    assert "pin" not in response.context
    assert list(User.history.values_list("history_id", flat=True)) == before


def test_a_supervisor_changes_a_person_and_the_history_says_why(desk, operator, supervisor, site):
    data = _new_person(site, badge_number="1009", reason="New badge printed")
    data.pop("username")
    assert desk.get(f"/people/{operator.pk}/").status_code == 200
    response = desk.post(f"/people/{operator.pk}/", data)
    assert response.status_code == 302
    operator.refresh_from_db()
    assert operator.badge_number == "1009"
    last = operator.history.first()
    assert (last.history_user, last.history_change_reason) == (supervisor, "New badge printed")


def test_a_person_of_another_site_is_not_found(desk, make_user, far_site):
    farah = make_user(roles.OPERATOR, username="farah", site=far_site)
    assert desk.get(f"/people/{farah.pk}/").status_code == 404
    assert desk.post(f"/people/{farah.pk}/pin/").status_code == 404
    assert desk.post(f"/people/{farah.pk}/deactivate/", {"reason": "x"}).status_code == 404
    farah.refresh_from_db()
    assert farah.is_active


def test_an_issued_pin_is_shown_once_and_not_cached(desk, operator):
    response = desk.post(f"/people/{operator.pk}/pin/", {"reason": "Forgot it"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    pin = response.context["pin"]
    assert pin in response.content.decode()
    operator.refresh_from_db()
    assert operator.check_pin(pin)
    assert pin not in desk.get(f"/people/{operator.pk}/").content.decode()
    assert desk.get(f"/people/{operator.pk}/pin/").status_code == 405


def test_a_pin_for_a_person_without_a_badge_is_refused_at_the_badge(desk, make_user):
    person = make_user(roles.OPERATOR, username="nobadge")
    response = desk.post(f"/people/{person.pk}/pin/", {"reason": "First day"})
    assert response.status_code == 400
    assert "badge number" in response.content.decode()
    person.refresh_from_db()
    assert not person.pin_hash


def test_deactivation_asks_for_a_reason(desk, operator, supervisor):
    assert desk.get(f"/people/{operator.pk}/deactivate/").status_code == 200
    response = desk.post(f"/people/{operator.pk}/deactivate/", {"reason": ""})
    assert response.status_code == 400
    assert 'id="reason-error"' in response.content.decode()
    operator.refresh_from_db()
    assert operator.is_active
    assert desk.post(f"/people/{operator.pk}/deactivate/", {"reason": "Left"}).status_code == 302
    operator.refresh_from_db()
    assert not operator.is_active
    assert operator.history.first().history_change_reason == "Left"


# --- the tablet ---------------------------------------------------------------------------------


@pytest.fixture
def tablet(supervisor, operator, client_for, workstation):
    """A bound tablet with the operator badged in."""
    browser = client_for(supervisor)
    assert browser.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet 1"}).status_code == 302
    browser.post("/logout/")
    assert browser.post("/tablet/sign-in/", {"badge_number": "1001", "pin": "1234"}).status_code == 302
    return browser


def test_the_tablet_links_to_change_my_pin(tablet):
    assert 'href="/tablet/pin/"' in tablet.get("/tablet/").content.decode()
    assert tablet.get("/tablet/pin/").status_code == 200


def test_an_operator_changes_their_pin_at_the_tablet(tablet, operator):
    response = tablet.post("/tablet/pin/", {"old_pin": "1234", "new_pin": "8642", "new_pin_again": "8642"})
    assert response.status_code == 302
    operator.refresh_from_db()
    assert operator.check_pin("8642")
    tablet.post("/logout/")
    assert tablet.post("/tablet/sign-in/", {"badge_number": "1001", "pin": "1234"}).status_code == 400
    assert tablet.post("/tablet/sign-in/", {"badge_number": "1001", "pin": "8642"}).status_code == 302


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"old_pin": "0000", "new_pin": "8642", "new_pin_again": "8642"}, "old_pin"),
        ({"old_pin": "1234", "new_pin": "8642", "new_pin_again": "8643"}, "new_pin_again"),
        ({"old_pin": "1234", "new_pin": "12", "new_pin_again": "12"}, "new_pin"),
        ({"old_pin": "1234", "new_pin": "123456789", "new_pin_again": "123456789"}, "new_pin"),
    ],
)
def test_a_refused_pin_change_answers_400_at_its_field(tablet, operator, data, field):
    response = tablet.post("/tablet/pin/", data)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.content.decode()
    operator.refresh_from_db()
    assert operator.check_pin("1234")


def test_change_my_pin_needs_a_bound_tablet_and_a_tablet_role(client_for, operator, make_user):
    assert "not bound" in client_for(operator).get("/tablet/pin/").content.decode()
    assert client_for(make_user(roles.QUALITY)).get("/tablet/pin/").status_code == 403
