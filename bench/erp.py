"""ERP delivery: throughput to a healthy fake ERP, and drain time through faults and a killed worker.

With no arguments it
1. drops and creates the PostgreSQL database `mes_bench_erp` (127.0.0.1:5432, user postgres),
   migrates it and builds, through the project's services, a plant with 4 started orders;
2. starts the fake ERP (`manage.py fake_erp`), a redis-server of its own as the Celery broker, and
   two Celery workers (prefork, 2 processes each) plus beat, all on loopback;
3. records 10,000 completions with the workers stopped, then starts them, nudges once and times
   until every message is acknowledged (throughput);
4. records a second 10,000 with the workers stopped, sets the fake ERP to 20 % errors (500) and
   5 % timeouts, starts the workers, kills one with SIGKILL when about half is acknowledged, and
   times until everything is acknowledged (drain time; the killed worker's claims come back when
   their lease runs out);
5. compares the ERP's unique effects and totals with the MES's committed events: `lost` counts
   committed events whose effect is missing at the ERP, `duplicate_effects` effects booked more
   than once or not matching a committed event.

The last line is one JSON object. It exits 0 whether or not the targets are met (it measures) and
non-zero when the setup itself fails.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    BASE_DIR,
    RESULTS_DIR,
    SetupFailed,
    free_port,
    log,
    recreate_database,
    server_env,
    setup_django,
)

DATABASE = "mes_bench_erp"
BATCH = 10_000
ORDERS = 4
TARGETS = {"throughput_per_s": 200.0, "lost": 0, "duplicate_effects": 0}
WORKER_ENV = {
    "ERP_CONNECTOR": "json",
    "ERP_TIMEOUT": "1",
    "ERP_BATCH_SIZE": "100",
    "ERP_SEND_CONCURRENCY": "8",
    "ERP_BACKOFF_SECONDS": "0.5",
    "ERP_BACKOFF_MAX_SECONDS": "4",
    "ERP_MAX_ATTEMPTS": "1000",
    "ERP_LEASE_SECONDS": "15",
    "ERP_SWEEP_SECONDS": "1",
    "LOG_LEVEL": "WARNING",
}


class Proc:
    def __init__(self, name: str, args: list[str], env: dict, ready: bytes | None = None):
        self.name, self.args, self.env, self.ready = name, args, env, ready
        self.log_path = RESULTS_DIR / f"erp-{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> Proc:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as out:
            self.process = subprocess.Popen(
                self.args,
                cwd=BASE_DIR,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while self.ready is not None and time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SetupFailed(f"{self.name} exited: see {self.log_path}")
            if self.ready in self.log_path.read_bytes():
                return self
            time.sleep(0.2)
        if self.ready is not None:
            raise SetupFailed(f"{self.name} did not start in {timeout:.0f} s: see {self.log_path}")
        return self

    def signal(self, sig) -> None:
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)

    def stop(self) -> None:
        self.signal(signal.SIGTERM)


def wait_for(url: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SetupFailed(f"{url} did not answer")


def build_floor() -> list:
    """A site, a line, ORDERS workstations, people, and a started one-operation order per station."""
    from django.contrib.auth.models import Group

    from integration.tests.support import start_order
    from mes import roles
    from mes.models import Line, Site, User, Workstation
    from workorders.models import Product, ReasonCode, Routing, RoutingOperation

    site = Site.objects.create(code="BENCH", name="Bench plant")
    line = Line.objects.create(site=site, code="L1", name="Line 1")
    supervisor = User.objects.create_user("bench-sup", password="bench-pass-1")
    supervisor.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    operator = User.objects.create_user("bench-op", password="bench-pass-1")
    operator.groups.add(Group.objects.get(name=roles.OPERATOR))
    ReasonCode.objects.create(code="SCRATCH", name="Scratch", kind="scrap")
    started = []
    for i in range(ORDERS):
        station = Workstation.objects.create(line=line, code=f"WS{i}", name=f"Station {i}")
        product = Product.objects.create(part_number=f"FG-{i}", name=f"Product {i}")
        routing = Routing.objects.create(product=product, code="STD", name="Standard")
        RoutingOperation.objects.create(
            routing=routing, sequence=10, name="Make", workstation=station, ideal_cycle_seconds=1
        )
        started.append(
            start_order(
                operator=operator,
                supervisor=supervisor,
                workstation=station,
                quantity=1_000_000,
                routing=routing,
            )
        )
    return started


def _record_share(args) -> None:
    order, n = args
    from django.db import connection

    try:
        for _ in range(n):
            order.good(1)
    finally:
        connection.close()


def record(started: list, count: int) -> float:
    """Record `count` completions spread over the orders, one process per order; returns seconds.

    Processes, not threads: the services are Python, and the GIL would serialise threads.
    """
    import multiprocessing

    from django.db import connections

    connections.close_all()  # the children open their own connections
    began = time.monotonic()
    share = [count // len(started) + (1 if i < count % len(started) else 0) for i in range(len(started))]
    with multiprocessing.get_context("fork").Pool(len(started)) as pool:
        pool.map(_record_share, list(zip(started, share, strict=True)))
    return time.monotonic() - began


def acknowledged() -> int:
    from integration.models import OutboxMessage

    return OutboxMessage.objects.filter(status="acknowledged").count()


def total_messages() -> int:
    from integration.models import OutboxMessage

    return OutboxMessage.objects.count()


def drain(trigger, *, timeout: float, on_progress=None) -> float:
    began = time.monotonic()
    trigger()
    total = total_messages()
    while time.monotonic() - began < timeout:
        done = acknowledged()
        if on_progress:
            on_progress(done, total)
        if done >= total:
            return time.monotonic() - began
        time.sleep(0.2)
    raise SetupFailed(f"not drained within {timeout:.0f} s ({acknowledged()} of {total} acknowledged)")


def check(erp_url: str) -> tuple[int, int]:
    """(lost, duplicate_effects) between the MES's committed events and the ERP's effects."""
    import httpx

    from integration.models import OutboxMessage
    from workorders.models import ProductionEvent, WorkOrder

    erp_keys = set(httpx.get(f"{erp_url}/_keys", timeout=30).json())
    committed = ProductionEvent.objects.filter(
        kind__in=["complete", "scrap", "order_status"], work_order__isnull=False
    )
    message_keys = {
        str(k)
        for k in OutboxMessage.objects.filter(event__in=committed).values_list("idempotency_key", flat=True)
    }
    without_message = committed.count() - len(message_keys)
    lost = len(message_keys - erp_keys) + without_message
    duplicates = len(erp_keys - message_keys)
    totals = httpx.get(f"{erp_url}/orders", timeout=30).json()
    for order in WorkOrder.objects.all():
        erp_good = float(totals.get(order.number, {}).get("good", 0))
        duplicates += max(0, round(erp_good - float(order.quantity_good)))
    return lost, duplicates


def main() -> int:
    db_url = recreate_database(DATABASE)
    broker_port = free_port()
    broker_url = f"redis://127.0.0.1:{broker_port}/0"
    erp_port = free_port()
    erp_url = f"http://127.0.0.1:{erp_port}"
    setup_django(db_url)
    log(f"database {DATABASE} migrated")
    started = build_floor()
    env = server_env(
        db_url,
        redis_url=broker_url.replace("/0", "/1"),
        CELERY_BROKER_URL=broker_url,
        ERP_URL=erp_url,
        **WORKER_ENV,
    )
    broker = Proc(
        "redis",
        [
            "redis-server",
            "--port",
            str(broker_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        env,
        b"Ready to accept",
    )
    erp = Proc(
        "fake-erp", [sys.executable, "manage.py", "fake_erp", "--port", str(erp_port), "--seed", "7"], env
    )
    celery = [sys.executable, "-m", "celery", "-A", "config"]

    def worker(n: int) -> Proc:
        return Proc(
            f"worker{n}",
            [
                *celery,
                "worker",
                "--concurrency",
                "2",
                "-n",
                f"bench{n}@%h",
                "--without-mingle",
                "--without-gossip",
                "--loglevel",
                "WARNING",
            ],
            env,
            b"",
        )

    beat = Proc(
        "beat",
        [*celery, "beat", "-s", str(RESULTS_DIR / "erp-beat-schedule"), "--loglevel", "INFO"],
        env,
        b"Starting...",
    )
    processes = [broker, erp]
    try:
        import httpx

        from config.celery import app

        broker.start()
        erp.start(timeout=0)
        wait_for(f"{erp_url}/_stats")
        # This process records with in-process (eager) nudges, which find no ERP configured here:
        # the messages wait until the bench nudges the workers itself, so the timing is clean.
        # Through Django's settings, which the Celery app reads (`app.conf.broker_url = ...` does
        # not override them): otherwise the nudges went to Celery's default broker, not this one.
        from django.conf import settings

        settings.CELERY_BROKER_URL = broker_url
        assert app.conf.broker_url == broker_url

        def nudge():
            with warnings.catch_warnings():  # send_task goes to the broker even in eager mode: wanted
                warnings.simplefilter("ignore")
                app.send_task("integration.deliver_outbox")

        def start_workers() -> list[Proc]:
            ws = [worker(1), worker(2)]
            for w in ws:
                w.ready = b"ready."
                w.args[-1] = "INFO"  # "ready." is logged at INFO
                w.start()
            return ws

        # --- healthy -----------------------------------------------------------------------------
        seconds = record(started, BATCH)
        log(
            f"recorded {BATCH} completions in {seconds:.1f} s ({BATCH / seconds:.0f}/s); {total_messages()} messages pending"
        )
        before = acknowledged()
        workers = start_workers()  # idle: nothing is queued until the nudge
        processes += workers
        processes.append(beat)

        def go():
            nudge()
            beat.start()  # the sweep too starts with the clock

        healthy_s = drain(go, timeout=600)
        delivered = acknowledged() - before
        throughput = delivered / healthy_s
        log(f"healthy: {delivered} messages acknowledged in {healthy_s:.1f} s = {throughput:.0f}/s")
        for w in workers:
            w.stop()
        beat.stop()

        # --- faulty, one worker killed midway -----------------------------------------------------
        seconds = record(started, BATCH)
        log(f"recorded {BATCH} more in {seconds:.1f} s; {total_messages() - acknowledged()} pending")
        httpx.post(
            f"{erp_url}/_faults", json={"error_rate": 0.2, "timeout_rate": 0.05, "hang_seconds": 3}, timeout=5
        )
        base = acknowledged()
        workers = start_workers()
        processes += workers
        killed = {"done": False}

        def kill_midway(done, total):
            if not killed["done"] and done - base >= (total - base) // 2:
                workers[0].signal(signal.SIGKILL)
                killed["done"] = True
                log(f"worker1 killed with SIGKILL at {done - base} of {total - base} acknowledged")

        faulty_s = drain(go, timeout=900, on_progress=kill_midway)
        stats = httpx.get(f"{erp_url}/_stats", timeout=5).json()
        log(
            f"faulty: drained in {faulty_s:.1f} s; the ERP answered {stats['errors']} errors and "
            f"{stats['timeouts']} timeouts, saw {stats['duplicates']} repeats (applied once)"
        )
        lost, duplicate_effects = check(erp_url)
        log(
            f"lost {lost}, duplicate effects {duplicate_effects} (targets: ≥ {TARGETS['throughput_per_s']:.0f}/s, 0, 0)"
        )
        print(
            json.dumps(
                {
                    "throughput_per_s": round(throughput, 1),
                    "faulty_drain_s": round(faulty_s, 1),
                    "lost": lost,
                    "duplicate_effects": duplicate_effects,
                }
            )
        )
        return 0
    finally:
        for p in [*processes, beat]:
            p.stop()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SetupFailed as exc:
        log(f"setup failed: {exc}")
        sys.exit(2)
    except Exception:
        traceback.print_exc()
        sys.exit(3)
