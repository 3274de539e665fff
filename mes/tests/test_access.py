"""Every role against the pages and endpoints it may and may not reach."""

import json

import pytest
from rest_framework.authtoken.models import Token

from mes import roles
from mes.tests.factories import SiteFactory, WorkstationFactory

OK, FORBIDDEN = 200, 403

# page -> expected status per role
PAGES = {
    "/tablet/": {
        roles.OPERATOR: OK,
        roles.SUPERVISOR: OK,
        roles.QUALITY: FORBIDDEN,
        roles.AUDITOR: FORBIDDEN,
        roles.ADMIN: OK,
    },
    "/plant/": {
        roles.OPERATOR: FORBIDDEN,
        roles.SUPERVISOR: OK,
        roles.QUALITY: OK,
        roles.AUDITOR: OK,
        roles.ADMIN: OK,
    },
    "/tablets/": {
        roles.OPERATOR: FORBIDDEN,
        roles.SUPERVISOR: OK,
        roles.QUALITY: FORBIDDEN,
        roles.AUDITOR: FORBIDDEN,
        roles.ADMIN: OK,
    },
    "/api/v1/sites/": {
        roles.OPERATOR: FORBIDDEN,
        roles.SUPERVISOR: OK,
        roles.QUALITY: OK,
        roles.AUDITOR: OK,
        roles.ADMIN: OK,
    },
    "/api/v1/workstations/": {
        roles.OPERATOR: OK,
        roles.SUPERVISOR: OK,
        roles.QUALITY: OK,
        roles.AUDITOR: OK,
        roles.ADMIN: OK,
    },
    "/api/v1/me/": dict.fromkeys(roles.ALL_ROLES, OK),
    "/api/schema/": dict.fromkeys(roles.ALL_ROLES, OK),
}
CASES = [(page, role, status) for page, by_role in PAGES.items() for role, status in by_role.items()]


@pytest.mark.parametrize(("path", "role", "expected"), CASES)
def test_each_role_reaches_only_what_it_may(make_user, client_for, path, role, expected):
    user = make_user(role)
    response = client_for(user).get(path)
    assert response.status_code == expected, (role, path)
    if expected == FORBIDDEN and path.startswith("/api/"):
        assert response.json()["code"] == "permission_denied"


@pytest.mark.requirement("P11-11.10d", "A11-12")
@pytest.mark.parametrize("path", ["/tablet/", "/plant/", "/tablets/"])
def test_anonymous_pages_redirect_to_sign_in(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/login/?next={path}")


@pytest.mark.parametrize("path", ["/api/v1/sites/", "/api/v1/me/", "/api/schema/?format=json"])
def test_anonymous_api_is_refused_without_data(client, db, path):
    response = client.get(path)
    assert response.status_code in (401, 403)
    assert set(json.loads(response.content)) == {"detail", "code"}


@pytest.mark.parametrize("role", [roles.OPERATOR, roles.SUPERVISOR, roles.QUALITY, roles.AUDITOR])
def test_only_admins_reach_the_admin_site(make_user, client_for, role):
    response = client_for(make_user(role)).get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_admin_reaches_the_admin_site(make_user, client_for):
    assert client_for(make_user(roles.ADMIN)).get("/admin/").status_code == OK


@pytest.mark.requirement("A11-12", "P11-11.10g")
def test_auditor_is_read_only_everywhere(django_user_model):
    from django.contrib.auth.models import Group

    codenames = Group.objects.get(name=roles.AUDITOR).permissions.values_list("codename", flat=True)
    assert codenames
    assert all(code.startswith("view_") for code in codenames)


def test_a_user_sees_only_their_own_sites(make_user, client_for, site):
    other = SiteFactory(code="OTHER")
    WorkstationFactory(line__site=other, code="FAR1")
    WorkstationFactory(line__site=site, code="NEAR1")
    client = client_for(make_user(roles.SUPERVISOR))
    assert [s["code"] for s in client.get("/api/v1/sites/").json()["results"]] == ["PLANT1"]
    codes = [w["code"] for w in client.get("/api/v1/workstations/").json()["results"]]
    assert codes == ["NEAR1"]
    assert client.get(f"/api/v1/sites/{other.pk}/").status_code == 404
    assert b"OTHER" not in client.get("/plant/").content


def test_machine_clients_authenticate_with_a_token(make_user, client):
    user = make_user(roles.SUPERVISOR)
    token = Token.objects.create(user=user)
    response = client.get("/api/v1/me/", headers={"Authorization": f"Token {token.key}"})
    assert response.status_code == OK
    assert response.json()["role"] == roles.SUPERVISOR
    bad = client.get("/api/v1/me/", headers={"Authorization": "Token not-a-real-token"})
    assert bad.status_code == 401
    assert bad.json()["code"] == "authentication_failed"


def test_the_role_lands_on_its_start_page(make_user, client_for):
    assert client_for(make_user(roles.OPERATOR)).get("/")["Location"] == "/workstation/"
    assert client_for(make_user(roles.SUPERVISOR)).get("/")["Location"] == "/board/"
    assert client_for(make_user(roles.AUDITOR)).get("/")["Location"] == "/plant/"


def test_navigation_shows_only_what_the_role_may_open(make_user, client_for):
    page = client_for(make_user(roles.SUPERVISOR)).get("/plant/").content.decode()
    assert 'href="/tablets/"' in page
    page = client_for(make_user(roles.QUALITY)).get("/plant/").content.decode()
    assert 'href="/tablets/"' not in page
    assert 'href="/tablet/"' not in page


def test_people_are_deactivated_in_the_admin_never_deleted(make_user, client_for, django_user_model):
    admin_client = client_for(make_user(roles.ADMIN))
    person = make_user(roles.OPERATOR)
    assert admin_client.get(f"/admin/mes/user/{person.pk}/change/").status_code == OK
    assert admin_client.get(f"/admin/mes/user/{person.pk}/delete/").status_code == 403
    response = admin_client.post(f"/admin/mes/user/{person.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert django_user_model.objects.filter(pk=person.pk, is_active=True).exists()
