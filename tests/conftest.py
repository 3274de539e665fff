"""End-to-end fixtures: a real ASGI server process on the test database, and headless chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from django.conf import settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[1]
ARTIFACTS = BASE_DIR / "test-artifacts"
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_database_url() -> str:
    """The URL of the database the test run created, for server processes to share it."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


class ServerProcess:
    def __init__(self, env: dict, log_name: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / f"{log_name}.log"
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> ServerProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the process's life
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not answer within 30 s: see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker):
    """The project served by uvicorn in its own process, on the test database.

    Tests that use it write through `transactional_db` so the server sees committed data.
    """
    with django_db_blocker.unblock():
        url = test_database_url()
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": os.environ.get("SECRET_KEY", "e2e-secret"),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "REDIS_PREFIX": settings.REDIS_PREFIX,  # one instance with this process: its groups
        }
    )
    server = ServerProcess(env, "asgi-server").start()
    yield server
    server.stop()


_rollback_snapshots: dict[str, str] = {}


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the Django ORM calls the tests make
    # around it are still plain synchronous calls. The browser lives for one module, so the tests
    # after it run with no event loop in their thread, as the services do in production.
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Playwright's greenlets give the module's tests another contextvars context, and Django
    # keeps one connection object per context: keep the snapshot `serialized_rollback` restores
    # after each flush (the roles the migrations made) to hand to the new connection objects.
    for alias in connections:
        snapshot = getattr(connections[alias], "_test_serialized_contents", None)
        if snapshot:
            _rollback_snapshots[alias] = snapshot
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(scope="module", autouse=True)
def _rollback_snapshot_for_browser_tests(request, django_db_blocker):
    """Before a module of browser tests: the connection objects of Playwright's context get the
    snapshot, and the database is emptied so each test's setup restores it cleanly."""
    if not any(request.node.iter_markers("browser")):
        return
    request.getfixturevalue("browser")
    from django.core.management import call_command
    from django.db import connections

    missing = [
        a
        for a, snap in _rollback_snapshots.items()
        if not getattr(connections[a], "_test_serialized_contents", None)
    ]
    for alias in missing:
        connections[alias]._test_serialized_contents = _rollback_snapshots[alias]
    if missing:
        with django_db_blocker.unblock():
            call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)


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
