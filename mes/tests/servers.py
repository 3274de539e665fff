"""Other processes for tests and benches: a fresh interpreter with chosen settings, and servers
(uvicorn, `manage.py` commands, brokers) started on a free loopback port and stopped for good.

Settings are read once per process, so switching them for real means a new process. A server runs
in a process group of its own, its output in a log file: stopping it stops whatever it spawned
(uvicorn's workers, Celery's pool), and a test that fails to start one names the log to read.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import httpx
from django.conf import settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS = BASE_DIR / "test-artifacts"
# The variables that choose a process's settings; a fresh interpreter starts without them.
SWITCHES = [
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "DEBUG",
    "HTTPS",
    "ALLOWED_HOSTS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "SIMULATE_LINES",
]

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, message: str = "", *, interval: float = 0.05) -> T:
    """Call `predicate` until it returns something true, and return that; fail after `timeout`
    seconds with `message`. Polls a condition instead of sleeping a fixed time: a fast machine
    goes on at once, a slow one gets the whole `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(message or f"still not true after {timeout} s: {predicate!r}")
        time.sleep(interval)


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


test_database_url.__test__ = False  # a helper, not a test, though its name starts with "test"


def clean_env(**overrides: str) -> dict:
    """This process's environment without the settings switches (and pytest's own variables),
    with `overrides` on top: a fresh interpreter gets only the settings a test chose."""
    env = {k: v for k, v in os.environ.items() if k not in SWITCHES and not k.startswith("PYTEST")}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env.update(overrides)
    return env


def run_python(code: str, **env_overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=clean_env(**env_overrides),
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_manage(*args: str, **env_overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=clean_env(**env_overrides),
        capture_output=True,
        text=True,
        timeout=120,
    )


def django_json(code: str, **env_overrides: str):
    """Run `code` after django.setup(); it must assign `result`, which comes back as JSON."""
    script = f"import django, json\ndjango.setup()\n{code}\nprint('@@' + json.dumps(result, default=str))"
    done = run_python(script, **env_overrides)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.split("@@", 1)[1])


def answers(url: str, status: int = 200) -> Callable[[], bool]:
    """A readiness check: `url` answers with `status`."""

    def check() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == status
        except httpx.HTTPError:
            return False

    return check


def accepts(port: int) -> Callable[[], bool]:
    """A readiness check: something listens on this loopback port."""

    def check() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return False
        return True

    return check


class ServerProcess:
    """`args` run as a server in a process group of its own, its output appended to `log_path`.

    `start()` returns once `ready()` is true (and fails, naming the log, if the process exits or
    `timeout` passes first); `stop()` ends the group, politely and then by force. A stopped server
    can be started again with the same arguments, so on the same port. Also a context manager.
    """

    failure: type[Exception] = RuntimeError

    def __init__(
        self,
        args: Sequence[str],
        *,
        env: dict[str, str],
        log_path: Path,
        ready: Callable[[], object],
        timeout: float = 30,
        name: str = "",
        cwd: Path = BASE_DIR,
    ):
        self.args = list(args)
        self.env = env
        self.log_path = log_path
        self.ready = ready
        self.timeout = timeout
        self.name = name or Path(self.args[0]).name
        self.cwd = cwd
        self.process: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not started"
        return self.process.pid

    def start(self) -> ServerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.args,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group, so whatever it spawns stops with it
            )
        try:
            wait_until(
                lambda: not self.running or self.ready(),
                self.timeout,
                f"{self.name} did not get ready within {self.timeout:.0f} s: see {self.log_path}",
                interval=0.1,
            )
        except AssertionError as exc:
            self.stop()
            raise self.failure(str(exc)) from None
        if not self.running:
            code = self.process.returncode
            raise self.failure(f"{self.name} exited with {code}: see {self.log_path}")
        return self

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def kill(self) -> None:
        """End the group at once, as a crash or a power cut would."""
        self.signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 15) -> None:
        if not self.running:
            return
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


class Uvicorn(ServerProcess):
    """The project's ASGI application under uvicorn on a free loopback port (`url`), ready when
    /healthz answers; `env` chooses its settings (see `server_env`)."""

    def __init__(
        self,
        env: dict[str, str],
        name: str = "asgi-server",
        *,
        log_dir: Path = ARTIFACTS,
        extra_args: Sequence[str] = (),
        app: str = "config.asgi:application",
        timeout: float = 30,
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
            *extra_args,
        ]
        super().__init__(
            args,
            env=env,
            log_path=log_dir / f"{name}.log",
            ready=answers(f"{self.url}/healthz"),
            timeout=timeout,
            name=name,
        )


def manage_py(
    *args: str, env: dict[str, str], name: str, ready: Callable[[], object], log_dir: Path = ARTIFACTS, **kw
) -> ServerProcess:
    """`manage.py <args>` as a server process (the fake ERP, the MQTT ingestor...)."""
    return ServerProcess(
        [sys.executable, "manage.py", *args],
        env=env,
        log_path=log_dir / f"{name}.log",
        ready=ready,
        name=name,
        **kw,
    )


def server_env(**overrides: str) -> dict[str, str]:
    """The environment of a server process beside the tests: this one's, with the tests' secret key
    (the server checks the sessions they sign), the project's settings module, and `overrides`
    (DATABASE_URL, REDIS_PREFIX...)."""
    env = dict(os.environ)
    env.setdefault("SECRET_KEY", settings.SECRET_KEY)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env.update(overrides)
    return env
