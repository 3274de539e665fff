"""What every bench needs: a fresh PostgreSQL database, Django set up on it, a uvicorn server
process run like production, and percentiles.

Benches are plain scripts (`make bench` runs each `bench/*.py` with no arguments); this module
starts with `_` so it is imported, not run. Server logs and other leftovers go to
`bench/results/` (ignored by git).
"""

from __future__ import annotations

import os
import socket
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parents[1]
RESULTS_DIR = BASE_DIR / "bench" / "results"

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
# Benches own their databases; the key only has to be fixed so sessions survive a server restart.
SECRET_KEY = "bench-only-secret-key-not-for-production"

if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

# Imported once BASE_DIR is on sys.path; `free_port` is for the benches that import it from here.
from mes.tests.servers import Uvicorn, answers  # noqa: E402
from mes.tests.servers import free_port as free_port  # noqa: E402


class SetupFailed(RuntimeError):
    """The bench could not build what it measures (database, data, server)."""


def log(message: str) -> None:
    print(message, flush=True)


def database_url(name: str) -> str:
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def recreate_database(name: str) -> str:
    """Drop and create a dedicated PostgreSQL database; returns its DATABASE_URL."""
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True, connect_timeout=5
        ) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise SetupFailed(f"PostgreSQL at {PG_HOST}:{PG_PORT} refused the bench database: {exc}") from exc
    return database_url(name)


def check_redis(url: str = REDIS_URL) -> None:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=3) as s:
            s.sendall(b"PING\r\n")
            if not s.recv(16).startswith(b"+PONG"):
                raise SetupFailed(f"Redis at {url} did not answer PING")
    except OSError as exc:
        raise SetupFailed(f"Redis at {url} is not reachable: {exc}") from exc


def server_env(db_url: str, redis_url: str = REDIS_URL, **extra: str) -> dict[str, str]:
    """The environment of a production-like process: PostgreSQL, Redis, a fixed key, no DEBUG."""
    env = dict(os.environ)
    for name in ("DEBUG", "CELERY_BROKER_URL"):
        env.pop(name, None)
    env.update(
        {
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": SECRET_KEY,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra)
    # The project first, then whatever the caller's PYTHONPATH adds (an experiment's settings).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(BASE_DIR), env.get("PYTHONPATH", "")) if p)
    return env


def setup_django(db_url: str, redis_url: str = REDIS_URL, *, migrate: bool = True) -> None:
    """Point this process's Django at the bench database (and Redis), set it up and migrate."""
    os.environ.update(
        {k: v for k, v in server_env(db_url, redis_url).items() if k not in ("PYTHONPATH", "LOG_LEVEL")}
    )
    os.environ.pop("DEBUG", None)
    import django

    django.setup()
    # Django's LOGGING sets the root logger to INFO; the load generator's client must stay quiet.
    import logging

    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


class Server(Uvicorn):
    """The project under uvicorn, run like production, on a free loopback port, in its own process
    group (see `mes.tests.servers`). Use it as a context manager: it is stopped on the way out,
    also on error.
    """

    failure = SetupFailed

    def __init__(
        self,
        env: dict[str, str],
        *,
        workers: int = 1,
        name: str = "server",
        extra_args=(),
        app: str = "config.asgi:application",
    ):
        self.workers = workers
        super().__init__(
            env,
            name,
            log_dir=RESULTS_DIR,
            app=app,
            extra_args=[
                "--log-level",
                "warning",
                "--workers",
                str(workers),
                # Like a load balancer's idle timeout (uvicorn's own 5 s closes a tablet's connection
                # between two phases of a loaded run, and the next request fails on it).
                "--timeout-keep-alive",
                "75",
                *extra_args,
            ],
        )

    def start(self, timeout: float = 60) -> Server:
        # Several workers share the port: a few answers in a row make it likelier all are up.
        healthy = answers(f"{self.url}/healthz")
        in_a_row = 0

        def all_up() -> bool:
            nonlocal in_a_row
            in_a_row = in_a_row + 1 if healthy() else 0
            return in_a_row >= max(3, 2 * self.workers)

        self.ready, self.timeout = all_up, timeout
        # A fresh log per run of the bench.
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.write_bytes(b"")
        super().start()
        return self


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user+system CPU seconds) of a process, from /proc; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by a process and its live descendants (Linux /proc)."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _proc_stat(int(entry))) is not None:
            stats[int(entry)] = stat
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _) in stats.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return sum(stats[pid][1] for pid in tree if pid in stats)


def postgres_cpu_seconds(dbname: str) -> float:
    """CPU seconds of the live PostgreSQL backends connected to `dbname` (seen by their process
    title). A backend that exits between two readings takes its CPU with it: with short-lived
    connections this undercounts; with pooled or persistent ones it is close."""
    needle = f" {dbname} ".encode()
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                title = f.read()
        except OSError:
            continue
        if title.startswith(b"postgres:") and needle in title and (stat := _proc_stat(int(entry))):
            total += stat[1]
    return total


class PgActivitySampler:
    """Samples pg_stat_activity of one database from a thread, a few times a second.

    Tells where the database's sessions spend a loaded run: running, waiting for a row lock,
    waiting on WAL/IO, or idle in a transaction (holding its locks while the app computes).
    """

    def __init__(self, dbname: str, interval: float = 0.2):
        import threading

        self.dbname = dbname
        self.interval = interval
        self.samples = 0
        self.totals: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-activity", daemon=True)

    def _run(self) -> None:
        import psycopg

        query = (
            "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        try:
            with psycopg.connect(
                host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=self.dbname, autocommit=True
            ) as conn:
                while not self._stop.wait(self.interval):
                    counts: dict[str, int] = {}
                    for state, wait_type, wait_event in conn.execute(query, (self.dbname,)):
                        if state == "active":
                            key = f"waiting on {wait_type}:{wait_event}" if wait_type else "running"
                        else:
                            key = state or "unknown"
                        counts[key] = counts.get(key, 0) + 1
                    self.samples += 1
                    for key, n in counts.items():
                        self.totals[key] = self.totals.get(key, 0) + n
        except Exception as exc:  # a probe: never fail the bench for it
            self.totals[f"sampler failed: {type(exc).__name__}"] = 1

    def start(self) -> PgActivitySampler:
        self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        """Mean number of sessions in each state over the samples, largest first."""
        self._stop.set()
        self._thread.join(5)
        n = max(self.samples, 1)
        return dict(sorted(((k, v / n) for k, v in self.totals.items()), key=lambda kv: -kv[1]))


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used so far, all cores together (the first
    line of /proc/stat, less idle and I/O wait): between two readings, divided by the seconds
    between them, the cores the machine kept busy."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def cpu_speed_probe() -> float:
    """CPU milliseconds a fixed pure-Python loop takes now: ~150-250 ms on an idle modern core.

    Figures from a shared or throttled machine scale with it; print it beside them.
    """
    start = time.process_time()
    total = 0
    for i in range(2_000_000):
        total += i * i
    return (time.process_time() - start) * 1000


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def percentiles(values: list[float], points=(50, 95, 99)) -> dict[int, float]:
    """Percentiles (inclusive method, linear interpolation) of a sample; NaN for an empty one."""
    if not values:
        return {p: float("nan") for p in points}
    if len(values) == 1:
        return {p: values[0] for p in points}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {p: (statistics.median(values) if p == 50 else cuts[p - 1]) for p in points}


if __name__ == "__main__":  # `make bench` runs every bench/*.py, this helper too
    print("bench/_support.py is the benches' shared helper; it measures nothing itself.")
