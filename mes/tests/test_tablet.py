"""Tablet binding, badge + PIN sign-in, its throttling, and idle expiry of tablet sessions."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.signing import get_cookie_signer
from django.utils import timezone

from mes import roles
from mes.middleware import SESSION_LAST_SEEN
from mes.models import SignInAttempt, SignInCounter, Tablet


@pytest.fixture
def bound_tablet(supervisor, client_for, workstation):
    """A browser on which a supervisor bound this tablet to the workstation, then signed out."""
    tablet = client_for(supervisor)
    response = tablet.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet 1"})
    assert response.status_code == 302
    tablet.post("/logout/")
    return tablet


def badge_in(tablet, badge="1001", pin="1234"):
    return tablet.post("/tablet/sign-in/", {"badge_number": badge, "pin": pin})


def test_supervisor_binds_a_tablet_and_it_opens_on_that_workstation(bound_tablet, workstation, supervisor):
    tablet = Tablet.objects.get()
    assert tablet.workstation == workstation
    assert tablet.bound_by == supervisor
    assert tablet.history.count() == 1
    page = bound_tablet.get("/tablet/sign-in/")
    assert page.status_code == 200
    assert workstation.name in page.content.decode()
    assert bound_tablet.get("/")["Location"] == "/tablet/sign-in/"


def test_an_operator_cannot_bind_a_tablet(operator, client_for, workstation):
    response = client_for(operator).post("/tablets/", {"workstation": workstation.pk, "name": "Mine"})
    assert response.status_code == 403
    assert not Tablet.objects.exists()


def test_binding_needs_a_visible_workstation_and_names_an_unnamed_tablet_after_it(
    supervisor, client_for, workstation
):
    from mes.tests.factories import SiteFactory, WorkstationFactory

    client = client_for(supervisor)
    far = WorkstationFactory(line__site=SiteFactory(code="FAR"))
    response = client.post("/tablets/", {"workstation": far.pk, "name": "Tablet"})
    assert response.status_code == 400
    assert "Choose a workstation" in response.content.decode()
    assert not Tablet.objects.exists()

    assert client.post("/tablets/", {"workstation": workstation.pk, "name": " "}).status_code == 302
    assert Tablet.objects.get().name == f"Tablet at {workstation.line.code}/{workstation.code}"


def test_a_refused_binding_shows_the_error_at_its_field_and_keeps_what_was_typed(
    supervisor, client_for, workstation
):
    too_long = "Tablet " + "x" * 100
    response = client_for(supervisor).post("/tablets/", {"workstation": workstation.pk, "name": too_long})
    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == ["name"]
    page = response.content.decode()
    assert f'value="{workstation.pk}" required checked>' in page  # the workstation chosen stays chosen
    assert f'value="{too_long}"' in page and 'id="name-error">' in page
    assert not Tablet.objects.exists()


def test_an_unbound_tablet_offers_no_badge_sign_in(client, db):
    page = client.get("/tablet/sign-in/")
    assert "not bound" in page.content.decode()
    assert client.post("/tablet/sign-in/", {"badge_number": "1001", "pin": "1234"}).status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_forged_tablet_cookie_is_ignored(client, operator, workstation, supervisor):
    tablet = Tablet.objects.create(workstation=workstation, name="T", bound_by=supervisor)
    client.cookies[settings.TABLET_COOKIE_NAME] = str(tablet.token)  # unsigned
    assert "not bound" in client.get("/tablet/sign-in/").content.decode()


def test_a_tablet_bound_before_the_rename_stays_bound_and_its_cookie_moves(
    client, operator, workstation, supervisor
):
    """Tablets bound before the tablet had one name carry the cookie under its earlier name; the
    upgrade must not unbind every tablet of the plant."""
    tablet = Tablet.objects.create(workstation=workstation, name="T", bound_by=supervisor)
    client.cookies["mes_kiosk"] = get_cookie_signer(salt="mes_kiosk" + "mes.kiosk").sign(str(tablet.token))
    assert workstation.name in client.get("/tablet/sign-in/").content.decode()
    assert badge_in(client).status_code == 302
    page = client.get("/workstation/")
    assert page.status_code == 200
    assert page.cookies[settings.TABLET_COOKIE_NAME].value  # the cookie under its name now
    assert page.cookies["mes_kiosk"]["max-age"] == 0  # and the earlier one dropped
    del client.cookies["mes_kiosk"]
    assert client.get("/workstation/").status_code == 200  # bound by the new cookie alone


def test_operator_badges_in_and_sees_the_workstation_home(bound_tablet, operator, workstation):
    response = badge_in(bound_tablet)
    assert response.status_code == 302
    assert response["Location"] == "/workstation/"
    page = bound_tablet.get("/tablet/").content.decode()
    assert workstation.name in page
    assert operator.printed_name in page
    attempt = SignInAttempt.objects.get(kind="badge")
    assert (attempt.kind, attempt.user, attempt.workstation, attempt.succeeded) == (
        "badge",
        operator,
        workstation,
        True,
    )


def test_a_wrong_pin_is_refused_and_recorded(bound_tablet, operator):
    response = badge_in(bound_tablet, pin="9999")
    assert response.status_code == 400
    assert "Badge or PIN is not right" in response.content.decode()
    assert "_auth_user_id" not in bound_tablet.session
    assert SignInAttempt.objects.filter(identifier="1001", succeeded=False).count() == 1


def test_badge_of_a_person_without_a_tablet_role_is_refused(bound_tablet, make_user):
    make_user(roles.AUDITOR, badge=("3001", "1234"))
    assert badge_in(bound_tablet, badge="3001").status_code == 400


def test_badge_sign_in_is_throttled_after_repeated_failures(bound_tablet, operator, settings):
    for _ in range(settings.SIGN_IN_MAX_FAILURES):
        assert badge_in(bound_tablet, pin="0000").status_code == 400
    # Even the right PIN is refused now: a guesser learns nothing.
    response = badge_in(bound_tablet)
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    assert "_auth_user_id" not in bound_tablet.session
    # Other badges are not affected.
    assert badge_in(bound_tablet, badge="1002", pin="1").status_code == 400

    # Once the window has passed, the right PIN works again.
    SignInCounter.objects.update(
        window_started_at=timezone.now() - timedelta(seconds=settings.SIGN_IN_FAILURE_WINDOW_SECONDS + 1)
    )
    assert badge_in(bound_tablet).status_code == 302


def test_password_sign_in_is_throttled_too(operator, client, settings):
    for _ in range(settings.SIGN_IN_MAX_FAILURES):
        assert client.post("/login/", {"username": "olga", "password": "nope"}).status_code == 400
    assert client.post("/login/", {"username": "olga", "password": "pass-word-1"}).status_code == 429


def test_a_success_resets_the_failure_count(bound_tablet, operator, settings):
    for _ in range(settings.SIGN_IN_MAX_FAILURES - 1):
        badge_in(bound_tablet, pin="0000")
    assert badge_in(bound_tablet).status_code == 302
    bound_tablet.post("/logout/")
    assert badge_in(bound_tablet, pin="0000").status_code == 400
    assert badge_in(bound_tablet).status_code == 302


def _age_session(client, seconds):
    session = client.session
    session[SESSION_LAST_SEEN] = time.time() - seconds
    session.save()


def test_an_idle_tablet_session_expires(bound_tablet, operator, settings):
    badge_in(bound_tablet)
    _age_session(bound_tablet, settings.TABLET_IDLE_TIMEOUT_SECONDS - 30)
    assert bound_tablet.get("/tablet/").status_code == 200
    _age_session(bound_tablet, settings.TABLET_IDLE_TIMEOUT_SECONDS + 1)
    response = bound_tablet.get("/tablet/")
    assert response.status_code == 302
    assert response["Location"] == "/tablet/sign-in/?expired=1"
    assert "_auth_user_id" not in bound_tablet.session
    # The tablet stays bound: the next operator badges in at the same workstation.
    assert "Signed out after idle time" in bound_tablet.get(response["Location"]).content.decode()


def test_an_idle_tablet_session_tells_htmx_where_to_go(bound_tablet, operator, settings):
    badge_in(bound_tablet)
    _age_session(bound_tablet, settings.TABLET_IDLE_TIMEOUT_SECONDS + 1)
    response = bound_tablet.get("/tablet/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response["HX-Redirect"] == "/tablet/sign-in/"


def test_a_desk_session_outlives_the_tablet_limit(supervisor, client_for, settings):
    desk = client_for(supervisor)
    _age_session(desk, settings.TABLET_IDLE_TIMEOUT_SECONDS + 60)
    assert desk.get("/plant/").status_code == 200
    _age_session(desk, settings.DESK_IDLE_TIMEOUT_SECONDS + 1)
    assert desk.get("/plant/")["Location"] == "/login/?expired=1"


def test_unbinding_a_tablet_stops_its_cookie(bound_tablet, supervisor, client_for):
    tablet = Tablet.objects.get()
    desk = client_for(supervisor)
    refused = desk.post(f"/tablets/{tablet.pk}/unbind/", {"reason": " "})
    assert refused.status_code == 400
    assert Tablet.objects.get().revoked_at is None  # a reason is required
    assert refused.context["revoke_form"].errors["reason"] == ["Say why the tablet is unbound."]
    desk.post(f"/tablets/{tablet.pk}/unbind/", {"reason": "Tablet broken"})
    tablet.refresh_from_db()
    assert tablet.revoked_by == supervisor
    assert tablet.history.first().history_change_reason == "Tablet broken"
    assert "not bound" in bound_tablet.get("/tablet/sign-in/").content.decode()


def test_polling_does_not_keep_an_idle_tablet_signed_in(bound_tablet, operator, settings):
    badge_in(bound_tablet)
    _age_session(bound_tablet, settings.TABLET_IDLE_TIMEOUT_SECONDS - 20)
    assert bound_tablet.get("/tablet/", headers={"X-MES-Poll": "1"}).status_code == 200
    session = bound_tablet.session
    session[SESSION_LAST_SEEN] -= 30
    session.save()
    assert bound_tablet.get("/tablet/")["Location"] == "/tablet/sign-in/?expired=1"


@pytest.mark.parametrize("pin", ["²²²²", "١٢٣٤", "12a4", "123", "123456789"])
def test_a_pin_is_four_to_eight_plain_digits(operator, supervisor, pin):
    from mes.errors import ValidationFailed
    from mes.services import user_set_pin

    before = operator.pin_hash
    with pytest.raises(ValidationFailed) as refused:
        user_set_pin(user=operator, pin=pin, by=supervisor)
    assert refused.value.field == "pin"
    operator.refresh_from_db()
    assert operator.pin_hash == before
