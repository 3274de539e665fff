"""End-to-end fixtures: a real ASGI server process on the test database, and headless chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from mes.tests.servers import ARTIFACTS, Uvicorn, server_env, test_database_url

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker):
    """The project served by uvicorn in its own process, on the test database.

    Tests that use it write through `transactional_db` so the server sees committed data.
    """
    with django_db_blocker.unblock():
        url = test_database_url()
    # REDIS_PREFIX: one instance with this process, so the server's groups are the tests' groups.
    env = server_env(DATABASE_URL=url, REDIS_PREFIX=settings.REDIS_PREFIX)
    server = Uvicorn(env, "asgi-server").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the Django ORM calls the tests make
    # around it are still plain synchronous calls. The browser lives for one module, so the tests
    # after it run with no event loop in their thread, as the services do in production.
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def tablet_page(browser):
    """A fresh browser context sized like a landscape shop-floor tablet."""
    context = browser.new_context(viewport={"width": 1024, "height": 768}, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
