"""ERP delivery under faults, with real processes: the fake ERP, a Redis broker of the test's own,
Celery workers (with their beat) on the test's PostgreSQL database.

Each scenario ends with the same two equalities: messages = committed events, and the ERP's unique
effects = committed events (and its totals = the MES's).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from integration.models import OutboxMessage
from integration.states import MessageStatus as M
from integration.tests.support import FakeErpProcess, start_order
from mes import roles
from mes.tests.factories import UserFactory, WorkstationFactory
from mes.tests.servers import free_port, test_database_url, wait_until
from workorders.models import ProductionEvent, WorkOrder
from workorders.tests.factories import reasons as make_reasons

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]
BASE_DIR = Path(__file__).resolve().parents[1]
ARTIFACTS = BASE_DIR / "test-artifacts"
KINDS = ["complete", "scrap", "order_status"]


class RedisBroker:
    """A redis-server of this test's own, so it can be stopped and started at will."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisBroker:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: _redis_up(self.port), 10, "redis did not start")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def _redis_up(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _wait(condition, timeout: float, message: str, interval: float = 0.2, explain=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"{message}\n{explain()}" if explain else message)


class Worker:
    """`celery -A config worker` (or `beat`, which sweeps every second) in its own process group."""

    count = 0
    started: list[Worker] = []

    def __init__(self, env: dict, tmp: Path, kind: str = "worker"):
        Worker.count += 1
        self.kind = kind
        self.name = f"{kind}{Worker.count}"
        self.env = env
        self.log_path = ARTIFACTS / f"integration-{self.name}.log"
        self.schedule = tmp / f"beat-{self.name}"
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path.write_text("")
        with open(self.log_path, "ab") as log:
            if self.kind == "beat":
                args = ["beat", "-s", str(self.schedule), "--loglevel", "INFO"]
                ready = b"Starting..."
            else:
                args = [
                    "worker",
                    "--concurrency",
                    "2",
                    "--loglevel",
                    "INFO",
                    "-n",
                    f"{self.name}@%h",
                    "--without-mingle",
                    "--without-gossip",
                ]
                ready = b" ready."
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", *args],
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait(
            lambda: ready in self.log_path.read_bytes() or self.process.poll() is not None,
            60,
            f"{self.kind} did not start: see {self.log_path}",
        )
        assert self.process.poll() is None, f"worker exited: see {self.log_path}"
        Worker.started.append(self)
        return self

    def tail(self, lines: int = 25) -> str:
        """The end of the log, and the whole of its last traceback (where a crash starts)."""
        text = self.log_path.read_text(errors="replace").splitlines()
        tracebacks = [i for i, line in enumerate(text) if line.startswith("Traceback")]
        start = max(0, len(text) - lines)
        if tracebacks:
            start = min(start, max(tracebacks[-1] - 5, len(text) - 150))
        state = "running" if self.process.poll() is None else f"exited {self.process.returncode}"
        shown = "\n".join(text[start:])
        return f"--- {self.name} ({state}), {self.log_path.name} from line {start + 1}:\n{shown}"

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


@pytest.fixture(scope="module")
def plant(django_db_setup, django_db_blocker, tmp_path_factory):
    """The fake ERP, the test's own broker, and the environment of a worker on the test database."""
    with django_db_blocker.unblock():
        db_url = test_database_url()
    erp = FakeErpProcess(log_name="integration-faults-erp").start()
    broker = RedisBroker().start()
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": db_url,
            "SECRET_KEY": os.environ.get("SECRET_KEY", "fault-test"),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "REDIS_PREFIX": settings.REDIS_PREFIX,  # the nudge key this process sets, they clear
            "CELERY_BROKER_URL": broker.url,
            "ERP_URL": erp.url,
            "ERP_CONNECTOR": "json",
            "ERP_TIMEOUT": "1",
            "ERP_BACKOFF_SECONDS": "0.2",
            "ERP_BACKOFF_MAX_SECONDS": "2",
            "ERP_MAX_ATTEMPTS": "1000",
            "ERP_LEASE_SECONDS": "6",
            "ERP_SWEEP_SECONDS": "1",
            "ERP_BATCH_SIZE": "10",
            "ERP_SEND_CONCURRENCY": "4",
            "DB_CONN_MAX_AGE": "60",
        }
    )
    yield {"erp": erp, "broker": broker, "env": env, "tmp": tmp_path_factory.mktemp("celery")}
    broker.stop()
    erp.stop()


@pytest.fixture(scope="module")
def workers(plant):
    """One worker and one beat for the module; a test that kills the worker restarts it."""
    running = {"worker": Worker(plant["env"], plant["tmp"]).start()}
    beat = Worker(plant["env"], plant["tmp"], kind="beat").start()
    yield running
    beat.stop()
    running["worker"].stop()


@pytest.fixture
def worker(workers):
    return workers["worker"]


def _reset_producers(app) -> None:
    app.pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def floor(plant, settings, site):
    """A started order; this test process publishes its after-commit nudges to the test's broker.

    Through Django's settings, which the Celery app reads (`app.conf.broker_url = ...` would not
    override them), so no nudge of this process goes to the embedded deliverer; one that an
    earlier test started is stopped, or it would deliver beside the workers under test.
    """
    from config.celery import app
    from integration import embedded

    embedded.stop()
    plant["erp"].reset()
    settings.ERP_URL = plant["erp"].url
    settings.CELERY_BROKER_URL = plant["broker"].url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert (app.conf.broker_url, app.conf.task_always_eager) == (plant["broker"].url, False)
    _reset_producers(app)
    make_reasons()
    supervisor = UserFactory(role=roles.SUPERVISOR, site=site, username="sam")
    operator = UserFactory(role=roles.OPERATOR, site=site, username="olga")
    station = WorkstationFactory(line__site=site, code="CNC1")
    started = start_order(operator=operator, supervisor=supervisor, workstation=station, quantity=100_000)
    yield started
    _reset_producers(app)


def _record(started, n: int) -> None:
    for i in range(n):
        started.good(1 + i % 3)
        if i % 4 == 0:
            started.scrap(1)


def _all_acknowledged() -> bool:
    return not OutboxMessage.objects.exclude(status=M.ACKNOWLEDGED).exists()


def _delivery_state() -> str:
    """What a failed wait shows: the outbox by status, and the ends of the workers' logs."""
    counts = dict(Counter(OutboxMessage.objects.values_list("status", flat=True)))
    return "\n".join([f"outbox by status: {counts}", *(w.tail() for w in Worker.started)])


def _settle(erp, timeout: float = 90) -> None:
    _wait(
        _all_acknowledged,
        timeout,
        "not every message was acknowledged in time",
        interval=0.3,
        explain=_delivery_state,
    )
    committed = ProductionEvent.objects.filter(kind__in=KINDS, work_order__isnull=False)
    keys = {str(k) for k in OutboxMessage.objects.values_list("idempotency_key", flat=True)}
    assert OutboxMessage.objects.count() == committed.count(), "messages = committed events"
    assert OutboxMessage.objects.filter(event__in=committed).count() == committed.count()
    stats = erp.stats()
    assert stats["unique"] == committed.count(), "ERP unique effects = committed events"
    erp_keys = set(__import__("httpx").get(f"{erp.url}/_keys", timeout=5).json())
    assert erp_keys == keys
    for order in WorkOrder.objects.all():
        totals = erp.order(order.number)
        assert totals["good"] == f"{order.quantity_good.normalize():f}"
        assert totals["scrap"] == f"{order.quantity_scrap.normalize():f}"


def test_erp_errors_and_timeouts_for_a_while_then_everything_arrives_once(plant, worker, floor):
    erp = plant["erp"]
    erp.faults(error_rate=0.5, timeout_rate=0.2, hang_seconds=1.5)
    _record(floor, 30)
    wait_until(lambda: (s := erp.stats())["errors"] > 0 and s["timeouts"] > 0, 30, "the ERP never failed")
    assert not _all_acknowledged()
    erp.faults()
    _settle(erp)
    stats = erp.stats()
    assert stats["errors"] > 0 and stats["timeouts"] > 0


def test_the_broker_restarted(plant, worker, floor):
    erp = plant["erp"]
    broker = plant["broker"]
    _record(floor, 10)
    broker.stop()
    _record(floor, 10)  # committed while the broker is down: the nudges fail, the rows wait
    broker.start()
    _record(floor, 5)
    _settle(erp)


def test_the_database_connections_dropped(plant, worker, floor):
    erp = plant["erp"]
    erp.faults(slow_seconds=0.3)
    _record(floor, 15)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        mine = cursor.fetchone()[0]
    dsn = connection.settings_dict
    killed = 0
    with psycopg.connect(
        host=dsn.get("HOST") or "127.0.0.1",
        port=dsn.get("PORT") or 5432,
        user=dsn["USER"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        # For a few seconds, drop every connection of the workers to the test database (mid-claim,
        # mid-send, mid-record), never this test's own.
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            killed += admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                [dsn["NAME"], mine],
            ).fetchone()[0]
            time.sleep(0.2)
    erp.faults()
    _record(floor, 10)
    _settle(erp)
    assert killed > 0


def test_a_worker_killed_mid_batch_and_a_restarted_worker_delivers_the_rest(plant, workers, floor):
    worker = workers["worker"]
    erp = plant["erp"]
    erp.faults(slow_seconds=0.3)
    _record(floor, 40)
    _wait(
        lambda: OutboxMessage.objects.filter(status=M.SENT).exists(),
        30,
        "nothing went in flight",
        explain=_delivery_state,
    )
    worker.kill()
    in_flight = OutboxMessage.objects.filter(status=M.SENT).count()
    assert in_flight > 0 and not _all_acknowledged()
    erp.faults()
    workers["worker"] = Worker(plant["env"], plant["tmp"]).start()
    _settle(erp)
