"""Every way in is one door: desk, admin, badge + PIN, API token and signature re-authentication
share one throttle (per account, per client address, per tablet, counted atomically) and one
attempt log; a tablet serves only people of its workstation's site."""

import re
from collections import Counter

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from mes import roles, throttle
from mes.models import SignInAttempt, SignInCounter, Tablet
from mes.signatures import Signature
from mes.tests.factories import SiteFactory, WorkstationFactory
from mes.tests.threads import run_in_threads
from workorders.live.models import AndonCall
from workorders.models import ProductionEvent
from workorders.tests.factories import key, released_order

PASSWORD = "pass-word-1"
TOKEN = "/api/v1/auth/token/"
WRONG, THROTTLED, NOT_ALLOWED, OK = "wrong_credentials", "throttled", "not_allowed", "succeeded"


def logged(**filters) -> list[tuple]:
    """The attempt log, oldest first, as (kind, identifier, client address, outcome)."""
    rows = SignInAttempt.objects.filter(**filters).order_by("at", "id")
    return list(rows.values_list("kind", "identifier", "ip_address", "outcome"))


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def bind_tablet(client_for, supervisor, workstation) -> Client:
    """A browser a supervisor bound to `workstation`, then signed out of."""
    browser = client_for(supervisor)
    assert browser.post("/tablets/", {"workstation": workstation.pk, "name": "T"}).status_code == 302
    browser.post("/logout/")
    return browser


@pytest.fixture
def tablet(client_for, supervisor, workstation):
    return bind_tablet(client_for, supervisor, workstation)


@pytest.fixture
def admin_user(make_user):
    return make_user(roles.ADMIN, username="ada")


@pytest.fixture
def far_site(db):
    return SiteFactory(code="FAR", name="Far plant")


# --- the sixth attempt, at every way in ---------------------------------------------------------


@pytest.mark.requirement("P11-11.300", "P11-11.10d")
def test_desk_refuses_the_sixth_attempt_even_with_the_right_password_and_logs_each(operator, client):
    for _ in range(5):
        assert client.post("/login/", {"username": "olga", "password": "nope"}).status_code == 400

    response = client.post("/login/", {"username": "olga", "password": PASSWORD})

    assert response.status_code == 429
    assert "Too many failed attempts for this account. Wait 5 minutes" in response.content.decode()
    assert not signed_in(client)
    assert logged() == [("password", "olga", "127.0.0.1", WRONG)] * 5 + [
        ("password", "olga", "127.0.0.1", THROTTLED)
    ]


def test_admin_login_refuses_the_sixth_attempt_even_with_the_right_password_and_logs_each(admin_user, client):
    for _ in range(5):
        response = client.post("/admin/login/", {"username": "ada", "password": "nope"})
        assert response.status_code == 200
        assert "Username or password is not right" in response.content.decode()

    response = client.post("/admin/login/?next=/admin/", {"username": "ada", "password": PASSWORD})

    assert "Too many failed attempts for this account" in response.content.decode()
    assert not signed_in(client)
    assert client.get("/admin/").status_code == 302
    assert logged() == [("admin", "ada", "127.0.0.1", WRONG)] * 5 + [("admin", "ada", "127.0.0.1", THROTTLED)]


def test_a_lock_out_at_the_desk_also_closes_the_admin_login(admin_user, client):
    for _ in range(5):
        client.post("/login/", {"username": "ada", "password": "nope"})

    response = client.post("/admin/login/?next=/admin/", {"username": "ada", "password": PASSWORD})

    assert "Too many failed attempts" in response.content.decode()
    assert not signed_in(client)
    assert logged(kind="admin") == [("admin", "ada", "127.0.0.1", THROTTLED)]


def test_the_admin_login_lets_staff_in_and_logs_a_non_staff_person_as_not_allowed(admin_user, supervisor):
    desk = Client()
    refused = desk.post("/admin/login/", {"username": "sam", "password": PASSWORD})
    assert "may not use the admin" in refused.content.decode()
    assert not signed_in(desk)

    admin = Client()
    assert admin.post("/admin/login/?next=/admin/", {"username": "ada", "password": PASSWORD})[
        "Location"
    ] == ("/admin/")
    assert admin.get("/admin/").status_code == 200
    assert logged() == [("admin", "sam", "127.0.0.1", NOT_ALLOWED), ("admin", "ada", "127.0.0.1", OK)]
    assert SignInAttempt.objects.get(outcome=NOT_ALLOWED).user == supervisor


@pytest.mark.requirement("P11-11.300")
def test_badge_refuses_the_sixth_attempt_and_logs_each_with_tablet_and_client(tablet, operator, workstation):
    for _ in range(5):
        assert tablet.post("/tablet/sign-in/", {"badge_number": "1001", "pin": "0000"}).status_code == 400

    response = tablet.post("/tablet/sign-in/", {"badge_number": "1001", "pin": "1234"})

    assert response.status_code == 429
    assert "Too many failed attempts for this badge" in response.content.decode()
    assert not signed_in(tablet)
    assert logged(kind="badge") == [("badge", "1001", "127.0.0.1", WRONG)] * 5 + [
        ("badge", "1001", "127.0.0.1", THROTTLED)
    ]
    bound = Tablet.objects.get()
    assert set(SignInAttempt.objects.filter(kind="badge").values_list("tablet", "workstation")) == {
        (bound.pk, workstation.pk)
    }


def test_api_token_is_given_for_a_username_and_password_and_opens_the_api(operator, client):
    first = client.post(TOKEN, {"username": "olga", "password": PASSWORD}, content_type="application/json")
    again = client.post(TOKEN, {"username": "olga", "password": PASSWORD}, content_type="application/json")

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() == {"token": Token.objects.get(user=operator).key}
    me = Client().get("/api/v1/me/", headers={"Authorization": f"Token {first.json()['token']}"})
    assert me.json()["username"] == "olga"
    assert logged() == [("api_token", "olga", "127.0.0.1", OK)] * 2


def test_api_token_refuses_bad_credentials_with_the_field_then_throttles(operator, client):
    missing = client.post(TOKEN, {"username": "olga"}, content_type="application/json")
    assert missing.status_code == 400 and "password" in missing.json()["errors"]
    for _ in range(5):
        wrong = client.post(TOKEN, {"username": "olga", "password": "nope"}, content_type="application/json")
        assert wrong.status_code == 400
        assert wrong.json()["code"] == "wrong_credentials"
        assert wrong.json()["errors"] == {"password": ["Username or password is not right."]}

    response = client.post(TOKEN, {"username": "olga", "password": PASSWORD}, content_type="application/json")

    assert response.status_code == 429
    assert response.json()["code"] == "too_many_attempts"
    assert "Wait 5 minutes" in response.json()["detail"]
    assert not Token.objects.exists()
    assert logged() == [("api_token", "olga", "127.0.0.1", WRONG)] * 5 + [
        ("api_token", "olga", "127.0.0.1", THROTTLED)
    ]


def test_signature_reauthentication_refuses_the_sixth_attempt_and_logs_each(make_user, client_for):
    quinn = make_user(roles.QUALITY, username="quinn")
    desk = client_for(quinn)
    opened = desk.post(
        "/quality/nonconformances/new/",
        {"title": "Burr on edge", "description": "Found at final check", "idempotency_key": str(key())},
    )
    act = opened["Location"].rstrip("/") + "/disposition/"
    assert re.fullmatch(r"/quality/nonconformances/\d+/disposition/", act)
    disposition = {"disposition": "rework", "note": "Deburr"}

    for _ in range(5):
        page = desk.post(act, {**disposition, "password": "nope"}, follow=True).content.decode()
        assert "Password is not right: not signed." in page
    page = desk.post(act, {**disposition, "password": PASSWORD}, follow=True).content.decode()

    assert "Too many failed attempts for this account" in page
    assert not Signature.objects.exists()
    assert logged(kind="signature") == [("signature", "quinn", "127.0.0.1", WRONG)] * 5 + [
        ("signature", "quinn", "127.0.0.1", THROTTLED)
    ]


def test_a_success_clears_the_account_count_but_not_the_log(operator, client):
    for _ in range(4):
        client.post("/login/", {"username": "olga", "password": "nope"})
    assert client.post("/login/", {"username": "olga", "password": PASSWORD}).status_code == 302
    assert throttle.failures(scope=throttle.Scope.USERNAME, key="olga") == 0

    other = Client()
    for _ in range(4):
        assert other.post("/login/", {"username": "olga", "password": "nope"}).status_code == 400
    assert Client().post("/login/", {"username": "olga", "password": PASSWORD}).status_code == 302
    assert Counter(outcome for *_, outcome in logged()) == {WRONG: 8, OK: 2}


def test_changing_the_case_of_a_username_does_not_start_a_fresh_count(operator, client):
    for guess in ["olga", "Olga", "OLGA", "oLga", "olgA"]:
        client.post("/login/", {"username": guess, "password": "nope"})

    assert client.post("/login/", {"username": "olga", "password": PASSWORD}).status_code == 429


# --- per client address and per tablet ----------------------------------------------------------


def test_one_client_trying_many_usernames_is_stopped_at_the_client_limit(operator, client, settings):
    assert settings.SIGN_IN_MAX_FAILURES_PER_CLIENT == 20
    for n in range(20):
        assert client.post("/login/", {"username": f"guess{n}", "password": "x"}).status_code == 400

    response = client.post("/login/", {"username": "olga", "password": PASSWORD})

    assert response.status_code == 429
    assert "Too many failed sign-in attempts from this device. Wait 5 minutes" in response.content.decode()
    assert logged()[-1] == ("password", "olga", "127.0.0.1", THROTTLED)
    # The person is not locked out: from their own device they get in.
    assert Client(REMOTE_ADDR="10.1.2.3").post(
        "/login/", {"username": "olga", "password": PASSWORD}
    ).status_code == (302)


def test_the_client_limit_counts_every_way_in(operator, admin_user, client, settings):
    settings.SIGN_IN_MAX_FAILURES_PER_CLIENT = 3
    client.post("/login/", {"username": "nobody", "password": "x"})
    client.post("/admin/login/", {"username": "root", "password": "x"})
    client.post(TOKEN, {"username": "api", "password": "x"}, content_type="application/json")

    refused = client.post(TOKEN, {"username": "ada", "password": PASSWORD}, content_type="application/json")

    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_attempts_from_client"


def test_sign_ins_that_succeed_do_not_use_up_the_client_limit(make_user, settings):
    settings.SIGN_IN_MAX_FAILURES_PER_CLIENT = 3
    people = [make_user(roles.SUPERVISOR, username=f"desk{n}") for n in range(6)]
    Client().post("/login/", {"username": "nobody", "password": "x"})

    for person in people:
        assert (
            Client().post("/login/", {"username": person.username, "password": PASSWORD}).status_code == 302
        )

    assert Client().post("/login/", {"username": "nobody", "password": "x"}).status_code == 400
    assert Client().post("/login/", {"username": "nobody2", "password": "x"}).status_code == 400
    assert Client().post("/login/", {"username": "desk0", "password": PASSWORD}).status_code == 429


def test_forwarded_for_counts_only_when_the_plant_trusts_its_proxy(operator, client, settings):
    settings.SIGN_IN_MAX_FAILURES_PER_CLIENT = 2
    for n in range(2):
        client.post("/login/", {"username": f"guess{n}", "password": "x"}, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    # A client naming another address in the header is still the same client.
    spoofed = client.post(
        "/login/", {"username": "olga", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="10.0.0.9"
    )
    assert spoofed.status_code == 429

    settings.SIGN_IN_TRUSTED_PROXIES = 1  # 127.0.0.1 is now the plant's proxy; it appends what it saw
    behind = client.post(
        "/login/", {"username": "olga", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="127.0.0.1, 10.20.30.40"
    )
    assert behind.status_code == 302
    assert logged()[-1] == ("password", "olga", "10.20.30.40", OK)


def test_one_tablet_trying_many_badges_is_stopped_at_the_tablet_limit(
    tablet, operator, supervisor, workstation, client_for, settings
):
    assert settings.SIGN_IN_MAX_FAILURES_PER_TABLET == 10
    for n in range(10):
        # A new address each time: it is the tablet that is counted.
        response = tablet.post(
            "/tablet/sign-in/", {"badge_number": f"9{n:03}", "pin": "1234"}, REMOTE_ADDR=f"10.0.0.{n}"
        )
        assert response.status_code == 400

    response = tablet.post(
        "/tablet/sign-in/", {"badge_number": "1001", "pin": "1234"}, REMOTE_ADDR="10.0.1.1"
    )

    assert response.status_code == 429
    assert "Too many failed sign-in attempts at this tablet" in response.content.decode()
    assert "ask your supervisor" in response.content.decode()
    assert not signed_in(tablet)
    # Another tablet, even at the same address, is not affected.
    other = bind_tablet(client_for, supervisor, WorkstationFactory(line=workstation.line, code="CNC2"))
    assert other.post("/tablet/sign-in/", {"badge_number": "1001", "pin": "1234"}).status_code == 302


# --- sites: a tablet serves the people of its workstation's site --------------------------------


def test_a_person_of_another_site_cannot_badge_in_at_this_tablet(tablet, make_user, far_site):
    fiona = make_user(roles.OPERATOR, username="fiona", site=far_site, badge=("5001", "1234"))

    response = tablet.post("/tablet/sign-in/", {"badge_number": "5001", "pin": "1234"})

    assert response.status_code == 403
    assert "You are not assigned to Plant one" in response.content.decode()
    assert not signed_in(tablet)
    attempt = SignInAttempt.objects.get(kind="badge")
    assert (attempt.kind, attempt.identifier, attempt.user, attempt.outcome, attempt.succeeded) == (
        "badge",
        "5001",
        fiona,
        NOT_ALLOWED,
        False,
    )


@pytest.mark.requirement("P11-11.10h")
def test_a_desk_session_of_another_site_on_a_bound_tablet_records_nothing(
    tablet, make_user, far_site, supervisor, workstation
):
    make_user(roles.OPERATOR, username="fiona", site=far_site)
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-900")
    op = order.operations.get()
    events = ProductionEvent.objects.count()
    assert tablet.post("/login/", {"username": "fiona", "password": PASSWORD}).status_code == 302

    queue = tablet.get("/workstation/")
    tap = tablet.post(
        "/workstation/events/", {"kind": "start", "operation": op.pk, "idempotency_key": str(key())}
    )
    andon = tablet.post("/workstation/andon/", {"kind": "help", "idempotency_key": str(key())})

    assert queue.status_code == 403
    assert "You are not assigned to Plant one" in queue.content.decode()
    assert "WO-900" not in queue.content.decode()
    assert tap.status_code == 403 and tap.json()["code"] == "other_site"
    assert andon.status_code == 403 and andon.json()["code"] == "other_site"
    assert ProductionEvent.objects.count() == events
    assert not AndonCall.objects.exists()


def test_an_operator_whose_site_was_taken_away_can_no_longer_act_at_the_tablet(
    tablet, operator, supervisor, workstation, site
):
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-901")
    op = order.operations.get()
    assert tablet.post("/tablet/sign-in/", {"badge_number": "1001", "pin": "1234"}).status_code == 302
    assert tablet.get("/workstation/").status_code == 200
    events = ProductionEvent.objects.count()

    operator.sites.remove(site)
    tap = tablet.post(
        "/workstation/events/",
        {"kind": "start", "operation": op.pk, "idempotency_key": str(key())},
        headers={"Accept": "application/json"},
    )
    screen = tablet.get(f"/workstation/operations/{op.pk}/", headers={"HX-Request": "true"})
    checklist = tablet.post("/workstation/checklists/start/", {"template": 1, "operation": op.pk})

    assert tap.status_code == 403 and "You are not assigned to Plant one" in tap.json()["detail"]
    assert screen.status_code == 403 and screen.json()["code"] == "other_site"
    assert checklist.status_code == 403
    assert ProductionEvent.objects.count() == events


# --- the race ------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_wrong_passwords_check_no_more_than_the_limit(operator, settings):
    # The production hasher, so that each check takes as long as it does in a plant.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    operator.set_password(PASSWORD)
    operator.save()
    statuses = []

    def guess(n):
        response = Client().post("/login/", {"username": "olga", "password": f"guess-{n}"})
        statuses.append(response.status_code)

    run_in_threads(guess, 20)

    limit = settings.SIGN_IN_MAX_FAILURES
    assert Counter(statuses) == {400: limit, 429: 20 - limit}
    assert Counter(outcome for *_, outcome in logged()) == {WRONG: limit, THROTTLED: 20 - limit}
    assert SignInCounter.objects.get(scope="username", key="olga").failures == limit
    assert Client().post("/login/", {"username": "olga", "password": PASSWORD}).status_code == 429
