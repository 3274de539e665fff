"""Every page carries a Content-Security-Policy that lets it run only the app's own scripts and
styles and load nothing from elsewhere; the templates hold nothing such a policy would block."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mes import roles

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "templates", *(ROOT / app / "templates" for app in
                 ("mes", "workorders", "quality", "traceability", "integration"))]  # fmt: skip


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = [part.strip().split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in directives}


@pytest.mark.django_db
def test_the_sign_in_page_has_the_policy(client):
    csp = policy(client.get("/login/"))

    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"]
    assert not any("unsafe" in v for values in csp.values() for v in values)


@pytest.mark.django_db
def test_websockets_may_connect_to_the_pages_own_host_only(client, settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "mes.plant.example"]
    plain = policy(client.get("/login/", HTTP_HOST="127.0.0.1"))
    secure = policy(client.get("/login/", HTTP_HOST="mes.plant.example", secure=True))

    assert plain["connect-src"] == ["'self'", "ws://127.0.0.1"]
    assert secure["connect-src"] == ["'self'", "wss://mes.plant.example"]


@pytest.mark.django_db
def test_a_supervisors_pages_and_the_admin_have_the_policy(client_for, supervisor, make_user):
    desk = client_for(supervisor)
    for url in (
        "/board/",
        f"/live/sites/{supervisor.sites.first().pk}/",
        "/integration/",
        "/quality/",
        "/trace/",
    ):
        response = desk.get(url)
        assert response.status_code == 200, url
        assert policy(response)["script-src"] == ["'self'"], url
    admin = client_for(make_user(roles.ADMIN, username="ada"))
    page = admin.get("/admin/")
    assert page.status_code == 200 and policy(page)["default-src"] == ["'self'"]


@pytest.mark.django_db
def test_the_api_docs_load_their_script_and_style_from_urls(client_for, supervisor):
    client = client_for(supervisor)

    page = client.get("/api/docs/")

    assert page.status_code == 200 and policy(page)["script-src"] == ["'self'"]
    html = page.content.decode()
    assert "<style" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)
    script_url = re.search(r'<script src="([^"]*script=[^"]*)"', html).group(1).replace("&amp;", "&")
    script = client.get(script_url)
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def template_files():
    for directory in TEMPLATE_DIRS:
        yield from directory.rglob("*.html")


def test_templates_hold_nothing_the_policy_blocks():
    """No inline script or style, no style attribute, no inline event handler, and no htmx feature
    that htmx runs through eval (trigger conditions, `hx-on`, `js:` values)."""
    blocked = {
        "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>"),
        "<style>": re.compile(r"<style\b"),
        "style attribute": re.compile(r"\sstyle=[\"']"),
        "event handler attribute": re.compile(r"\son[a-z]+=[\"']"),
        "htmx trigger condition": re.compile(r"hx-trigger=[\"'][^\"']*\["),
        "hx-on": re.compile(r"\shx-on"),
        "js: value": re.compile(r"hx-(vals|vars|headers)=[\"']\s*js:"),
        "javascript: URL": re.compile(r"javascript:", re.I),
    }
    found = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in template_files()
        for what, pattern in blocked.items()
        if pattern.search(path.read_text())
    ]
    assert found == []


@pytest.mark.django_db
def test_the_browsable_api_may_style_inline_but_runs_only_the_apps_scripts(client_for, supervisor):
    """DRF's own templates style with attributes; nothing else on its pages is relaxed."""
    page = client_for(supervisor).get("/api/v1/work-orders/", HTTP_ACCEPT="text/html")
    json = client_for(supervisor).get("/api/v1/work-orders/", HTTP_ACCEPT="application/json")

    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert policy(page)["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy(page)["script-src"] == ["'self'"] and policy(page)["object-src"] == ["'none'"]
    assert policy(json)["style-src"] == ["'self'"]
