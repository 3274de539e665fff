"""Desk sign-in with the plant's OpenID Connect provider, against a real provider (panva's
oidc-provider under Node, `tests/oidc/`): people created and kept up to date from the provider's
groups, deactivated when it says so; forged answers and tokens for another client refused."""

from __future__ import annotations

import html
import json
import re
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlencode, urljoin

import httpx
import pytest
from django.core.exceptions import SuspiciousOperation
from django.test import RequestFactory

from mes import identity, roles
from mes.models import Site, User
from mes.tests.servers import ARTIFACTS, ServerProcess, answers, free_port
from mes.throttle import SignInAttempt

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
RP = "http://testserver"
CALLBACK = f"{RP}/oidc/callback/"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js for the OIDC provider"),
]


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    """The provider on a free port; `accounts` is the file it reads the people from at each sign-in."""
    if not (OIDC_DIR / "node_modules" / "oidc-provider").exists():
        pytest.fail(
            "tests/oidc/node_modules is missing: `make test` installs it (npm ci --prefix tests/oidc)"
        )
    folder = tmp_path_factory.mktemp("oidc")
    accounts = folder / "accounts.json"
    accounts.write_text("{}")
    config = folder / "config.json"
    config.write_text(
        json.dumps(
            {
                "accounts_file": str(accounts),
                "clients": [
                    {"client_id": "mes", "client_secret": "mes-secret", "redirect_uris": [CALLBACK]},
                    {
                        "client_id": "other-app",
                        "client_secret": "other-secret",
                        "redirect_uris": ["http://other.example/cb"],
                    },
                ],
            }
        )
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = ServerProcess(
        ["node", str(OIDC_DIR / "provider.mjs"), str(port), str(config)],
        env={"PATH": "/usr/bin:/bin", "NODE_ENV": "test"},
        log_path=ARTIFACTS / "oidc-provider.log",
        ready=answers(f"{url}/.well-known/openid-configuration"),
        name="oidc-provider",
        cwd=OIDC_DIR,
    ).start()
    yield {"url": url, "accounts": accounts}
    server.stop()


@pytest.fixture
def oidc(provider, settings, db):
    """This MES configured for the provider, with PLANT1 and PLANT2 and a group mapping."""
    url = provider["url"]
    settings.OIDC_ENABLED = True
    settings.OIDC_OP_ISSUER = url
    settings.OIDC_PROVIDER_NAME = "Plant Login"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{url}/auth"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{url}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{url}/me"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{url}/jwks"
    settings.OIDC_RP_CLIENT_ID = "mes"
    settings.OIDC_RP_CLIENT_SECRET = "mes-secret"
    settings.OIDC_GROUP_ROLES = {"mes-operators": roles.OPERATOR, "mes-supervisors": roles.SUPERVISOR}
    settings.OIDC_GROUP_SITES = {"plant1": "PLANT1", "plant2": "PLANT2", "corporate": "*"}
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "mes.identity.PlantIdentityBackend",
    ]
    Site.objects.get_or_create(code="PLANT1", defaults={"name": "Plant one"})
    Site.objects.get_or_create(code="PLANT2", defaults={"name": "Plant two"})
    return provider


def say(provider, **people) -> None:
    """What the provider knows about people from now on."""
    provider["accounts"].write_text(json.dumps(people))


def _form(page: str) -> tuple[str, dict]:
    action = html.unescape(re.search(r'<form[^>]*action="([^"]+)"', page).group(1))
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    return action, hidden


def through_provider(browser: httpx.Client, url: str, login: str) -> str:
    """Follow the provider's pages as a person would (log in, consent) until it sends the browser
    back to a client; return that URL."""
    provider = url[: url.index("/", len("http://"))]
    for _ in range(12):
        response = browser.get(url)
        while response.status_code in (302, 303):
            url = urljoin(url, response.headers["location"])
            if not url.startswith(provider):
                return url
            response = browser.get(url)
        action, fields = _form(response.text)
        if 'name="login"' in response.text:
            fields.update(login=login, password="anything")
        posted = browser.post(urljoin(url, action), data=fields)
        assert posted.status_code in (302, 303), posted.text[:500]
        url = urljoin(url, posted.headers["location"])
        if not url.startswith(provider):
            return url
    raise AssertionError("the provider's pages did not end in a redirect back")


def sign_in(client, login: str):
    start = client.get("/oidc/authenticate/")
    assert start.status_code == 302 and start["Location"].startswith("http://127.0.0.1")
    with httpx.Client(timeout=10) as browser:
        back = through_provider(browser, start["Location"], login)
    assert back.startswith(CALLBACK), back
    return client.get(back.removeprefix(RP))


def test_the_first_sign_in_creates_the_person_with_the_role_and_sites_of_their_groups(client, oidc):
    say(
        oidc,
        alice={
            "email": "alice@plant.example",
            "given_name": "Alice",
            "family_name": "Doe",
            "groups": ["mes-operators", "plant1", "unrelated"],
        },
    )

    landed = sign_in(client, "alice")

    assert landed.status_code == 302
    alice = User.objects.get(oidc_subject="alice")
    assert (alice.username, alice.get_full_name(), alice.is_active) == (
        "alice@plant.example",
        "Alice Doe",
        True,
    )
    assert roles.role_of(alice) == roles.OPERATOR
    assert [s.code for s in alice.sites.all()] == ["PLANT1"] and not alice.all_sites
    assert not alice.has_usable_password()
    assert alice.history.filter(history_change_reason__startswith="Created at first sign-in").exists()
    assert client.get("/").wsgi_request.user == alice
    attempt = SignInAttempt.objects.latest("at")
    assert (attempt.kind, attempt.outcome, attempt.user) == ("oidc", "succeeded", alice)


def test_a_later_sign_in_follows_the_provider_and_an_account_it_drops_is_deactivated(client, oidc):
    say(oidc, bob={"email": "bob@plant.example", "groups": ["mes-operators", "plant1"]})
    sign_in(client, "bob")
    client.logout()

    say(oidc, bob={"email": "bob@plant.example", "groups": ["mes-supervisors", "plant2", "corporate"]})
    sign_in(client, "bob")
    bob = User.objects.get(oidc_subject="bob")
    assert roles.role_of(bob) == roles.SUPERVISOR and bob.all_sites
    assert [s.code for s in bob.sites.all()] == ["PLANT2"]
    client.logout()

    say(oidc, bob={"email": "bob@plant.example", "groups": ["canteen"]})
    refused = sign_in(client, "bob")

    assert refused.status_code == 403
    assert "may not use the MES (no MES role in the provider&#x27;s groups)" in refused.content.decode()
    bob.refresh_from_db()
    assert not bob.is_active
    assert bob.history.filter(history_change_reason__startswith="Deactivated at sign-in").exists()
    assert not client.get("/").wsgi_request.user.is_authenticated
    assert SignInAttempt.objects.latest("at").outcome == "not_allowed"


def test_an_answer_with_a_forged_state_is_refused_and_writes_no_person(client, oidc):
    say(oidc, eve={"email": "eve@plant.example", "groups": ["mes-supervisors", "corporate"]})
    client.get("/oidc/authenticate/")  # a sign-in started in this browser, with its own state
    people = User.objects.count()

    forged = client.get("/oidc/callback/?" + urlencode({"code": "stolen-code", "state": uuid.uuid4().hex}))

    assert forged.status_code == 403
    assert "does not belong to a sign-in started in this browser" in forged.content.decode()
    assert User.objects.count() == people
    assert not client.get("/").wsgi_request.user.is_authenticated


def test_an_id_token_the_provider_issued_to_another_application_is_refused(oidc):
    say(oidc, mallory={"email": "mallory@plant.example", "groups": ["mes-supervisors", "corporate"]})
    url, nonce = oidc["url"], uuid.uuid4().hex
    query = {
        "client_id": "other-app",
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": "http://other.example/cb",
        "state": "s",
        "nonce": nonce,
    }
    with httpx.Client(timeout=10) as browser:
        back = through_provider(browser, f"{url}/auth?{urlencode(query)}", "mallory")
        code = re.search(r"code=([^&]+)", back).group(1)
        tokens = browser.post(
            f"{url}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": "http://other.example/cb",
                "client_id": "other-app",
                "client_secret": "other-secret",
            },
        ).json()
    backend = identity.PlantIdentityBackend()
    backend.request = RequestFactory().get("/oidc/callback/")
    people = User.objects.count()

    with pytest.raises(SuspiciousOperation, match="another application"):
        backend.verify_token(tokens["id_token"], nonce=nonce)
    assert User.objects.count() == people


def test_without_configuration_there_is_no_company_sign_in(client, settings):
    settings.OIDC_ENABLED = False
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
    assert "Sign in with" not in client.get("/login/").content.decode()


def test_the_sign_in_page_offers_the_provider_when_configured(client, oidc):
    assert "Sign in with Plant Login" in client.get("/login/").content.decode()
