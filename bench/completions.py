"""Completions from 50 tablets at once: throughput, latency, and not one count lost or doubled.

With no arguments it
1. drops and creates the PostgreSQL database `mes_bench_completions` (127.0.0.1:5432, user
   postgres), migrates it and builds, through the project's services, one site, one line, 50
   workstations, 50 operators with passwords, a one-operation routing per workstation and a
   released order per workstation whose operation is already started;
2. serves the project with uvicorn (PostgreSQL + Redis, like production) on a free loopback port;
3. signs 50 simulated tablets in through /login/ (each its own httpx client, cookie jar and
   session), has them hit GET /ping back to back for the no-op baseline, then post completions
   (quantity 1, a fresh idempotency key each) to /api/v1/events/ for 30 s, paced so that together
   they offer the target rate (250/s: one every 200 ms per tablet, each waiting for its answer
   like a real tablet; latency counts from the scheduled moment, so falling behind shows), and
   then 10 s back to back for the most the server takes (capacity); about 1 in 20 posts re-sends
   an acknowledged request with its key, which must replay (200) and count nothing; a failed post
   is re-sent with its key, like a tablet would, up to 3 times;
4. compares what was acknowledged with the ledger and the operation counters (lost: acknowledged
   but not in the ledger or the counter; duplicated: in the ledger or counter beyond what was
   acknowledged);
5. prints the figures (with the CPU each part used per request, what the database sessions were
   doing, and the machine's load, since a shared machine skews everything) and, as the last
   line, one JSON object: throughput_per_s, p50_ms, p95_ms, p99_ms, errors, lost, duplicated,
   ratio_to_noop (completions per second / pings per second), server_cpu_ms_per_completion and
   server_cpu_ms_per_noop (the server's CPU per request of each phase) and cpu_ratio (server and
   PostgreSQL CPU per completion / the same per ping: what a completion costs beside a request
   that does nothing, independent of how busy the machine was).

It exits 0 whether or not the targets are met (it measures; it is not a test) and non-zero when
the setup itself fails. Options (`--help`) exist for investigations; `make bench` uses none.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    REDIS_URL,
    RESULTS_DIR,
    PgActivitySampler,
    Server,
    SetupFailed,
    check_redis,
    cpu_speed_probe,
    database_url,
    load_average,
    log,
    own_cpu_seconds,
    percentiles,
    postgres_cpu_seconds,
    recreate_database,
    server_env,
    setup_django,
    tree_cpu_seconds,
)

DATABASE = "mes_bench_completions"
TABLETS = 50
COMPLETE_SECONDS = 30.0
PING_SECONDS = 10.0
CAPACITY_SECONDS = 10.0
WARMUP_SECONDS = 3.0
RETRY_ONE_IN = 20
ERROR_RETRIES = 3  # re-sends of a failed completion with its key before the tablet gives up
ORDER_QUANTITY = 1_000_000  # the services refuse larger quantities as implausible
PASSWORD = "bench-operator-pass-1"
# Chosen by measurement on the 2-core bench machine, load generator on the same machine: with
# 1, 2, 3 and 4 workers (connection pool on, 20 s runs) completions ran at 13.6, 22.1, 18.2 and
# 14.6 per second. One worker runs every request of its process under one GIL; more workers
# than cores only add switching. `--workers` overrides it.
DEFAULT_WORKERS = 2
WORKER_CHOICE_NOTE = "of 1-4 measured, 2 gave the most completions/s on 2 cores"

TARGETS = {"throughput_per_s": 250.0, "p95_ms": 75.0, "errors": 0, "lost": 0, "duplicated": 0}
# A completion should cost about what a request costs (the targets).
RATIO_TARGETS = {"ratio_to_noop": 0.5, "cpu_ratio": 3.0}


# --- Data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Station:
    username: str
    password: str
    workstation: int
    operation: int


def build_plant(count: int, lines: int = 1) -> list[Station]:
    """The plant, people and started orders, made through the services (each leaves history)."""
    from django.contrib.auth.models import Group
    from django.db import transaction

    from mes import roles
    from mes.models import Line, Site, User, Workstation
    from workorders import services
    from workorders.models import Product, Routing

    supervisor = User(username="bench-supervisor", first_name="Bench", last_name="Supervisor")
    supervisor.set_unusable_password()
    supervisor.all_sites = True
    supervisor.save()
    supervisor.groups.add(Group.objects.get(name=roles.SUPERVISOR))

    def save(instance):
        return services.master_data_save(instance=instance, user=supervisor, reason="Bench plant")

    site = save(Site(code="BENCH", name="Bench plant", time_zone="UTC"))
    plant_lines = [save(Line(site=site, code=f"L{n}", name=f"Bench line {n}")) for n in range(1, lines + 1)]
    operator_group = Group.objects.get(name=roles.OPERATOR)

    # Every operator gets the same known password. Django hashes it with PBKDF2 at 1,000,000
    # iterations (about half a second): hash it once with set_password and give all 50 the
    # result, rather than spend most of the setup hashing. Sign-in still checks it 50 times.
    template = User()
    template.set_password(PASSWORD)
    operators = []
    for i in range(1, count + 1):
        operator = User(username=f"op{i:02d}", first_name="Bench", last_name=f"Operator {i:02d}")
        operator.password = template.password
        operators.append(operator)

    stations: list[Station] = []
    for i, operator in enumerate(operators, start=1):
        line = plant_lines[(i - 1) % lines]
        with transaction.atomic():
            operator._history_user = supervisor
            operator._change_reason = "Bench operator"
            operator.save()
            operator.groups.add(operator_group)
            operator.sites.add(site)
            workstation = save(Workstation(line=line, code=f"WS{i:02d}", name=f"Bench station {i:02d}"))
            product = save(Product(part_number=f"BENCH-{i:02d}", name=f"Bench part {i:02d}", unit="pcs"))
            routing = services.routing_save(
                routing=Routing(product=product, code="STD", name="Bench routing"),
                operations=[
                    {
                        "sequence": 10,
                        "name": "Assemble",
                        "workstation": workstation,
                        "ideal_cycle_seconds": 1,
                    }
                ],
                user=supervisor,
                reason="Bench routing",
            )
        order = services.workorder_create(
            number=f"BENCH-WO-{i:02d}",
            product=product,
            routing=routing,
            line=line,
            quantity=ORDER_QUANTITY,
            user=supervisor,
        )
        services.workorder_transition(
            work_order_id=order.pk, target="released", user=supervisor, key=uuid.uuid4()
        )
        operation = order.operations.get()
        services.operation_start(
            operation_id=operation.pk, workstation=workstation, user=operator, key=uuid.uuid4()
        )
        stations.append(Station(operator.username, PASSWORD, workstation.pk, operation.pk))
    return stations


# --- Load ---------------------------------------------------------------------------------------


@dataclass
class Phase:
    """What one phase of the run saw, over all tablets."""

    name: str
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    exceptions: Counter = field(default_factory=Counter)
    ok: int = 0
    started: float = 0.0
    ended: float = 0.0
    server_cpu: float = 0.0  # CPU seconds the server's processes used during the phase
    client_cpu: float = 0.0  # and this load generator
    db_cpu: float = 0.0  # and the database's backends (a lower bound, see postgres_cpu_seconds)
    db_sessions: dict = field(default_factory=dict)  # mean sessions per state (PgActivitySampler)

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300) + sum(
            self.exceptions.values()
        )

    @property
    def seconds(self) -> float:
        return max(self.ended - self.started, 1e-9)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) or 1

    @property
    def server_ms(self) -> float:
        """The server's CPU per request answered, in milliseconds."""
        return self.server_cpu / self.requests * 1000

    @property
    def db_ms(self) -> float:
        """PostgreSQL's CPU per request answered (a lower bound; 0 when it could not be read)."""
        return max(self.db_cpu, 0.0) / self.requests * 1000


@dataclass
class Ledger:
    """What the tablets were told: acknowledged keys per operation, and the retries' outcomes."""

    acked: dict[int, set[str]] = field(default_factory=dict)
    retries: int = 0  # deliberate re-sends of acknowledged requests
    retry_statuses: Counter = field(default_factory=Counter)
    error_retries: int = 0  # re-sends after an error, same key
    recovered_replays: int = 0  # ... that found the failed attempt recorded (200)
    unacknowledged: int = 0  # given up after ERROR_RETRIES re-sends


class Tablet:
    def __init__(self, base_url: str, station: Station, timeout: float):
        import httpx

        self.station = station
        self.client = httpx.AsyncClient(
            base_url=base_url,
            http1=True,
            timeout=timeout,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        self.csrf = ""
        self.sent: list[dict] = []  # acknowledged request bodies, for retries
        self.rng = random.Random(station.workstation)

    async def sign_in(self) -> None:
        response = await self.client.get("/login/")
        token = self.client.cookies.get("csrftoken")
        if response.status_code != 200 or not token:
            raise SetupFailed(f"GET /login/ gave {response.status_code} and no CSRF cookie")
        response = await self.client.post(
            "/login/",
            data={"username": self.station.username, "password": self.station.password},
            headers={"X-CSRFToken": token, "Referer": f"{self.client.base_url}login/"},
        )
        if response.status_code != 302 or "sessionid" not in self.client.cookies:
            raise SetupFailed(f"{self.station.username} could not sign in: {response.status_code}")
        self.csrf = self.client.cookies.get("csrftoken") or token  # rotated on sign-in

    async def close(self) -> None:
        await self.client.aclose()

    def _body(self) -> dict:
        return {
            "idempotency_key": str(uuid.uuid4()),
            "kind": "good",
            "workstation": self.station.workstation,
            "operation": self.station.operation,
            "quantity": "1",
        }

    async def _post(self, body: dict):
        return await self.client.post("/api/v1/events/", json=body, headers={"X-CSRFToken": self.csrf})

    async def ping_until(self, deadline: float, phase: Phase) -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                response = await self.client.get("/ping")
            except Exception as exc:
                phase.exceptions[type(exc).__name__] += 1
                continue
            phase.latencies_ms.append((time.perf_counter() - t0) * 1000)
            phase.statuses[response.status_code] += 1
            phase.ok += response.status_code == 200

    async def _send(self, body: dict, phase: Phase, scheduled: float | None = None) -> int | None:
        """Post one completion; its latency and status go to the phase. None on an exception.

        Latency counts from `scheduled` when given (the moment a paced tablet meant to send), so
        a server that falls behind shows it as latency instead of hiding it by sending less."""
        t0 = time.perf_counter() if scheduled is None else scheduled
        try:
            response = await self._post(body)
        except Exception as exc:
            phase.exceptions[type(exc).__name__] += 1
            return None
        phase.latencies_ms.append((time.perf_counter() - t0) * 1000)
        phase.statuses[response.status_code] += 1
        return response.status_code

    async def complete_until(
        self, deadline: float, phase: Phase, ledger: Ledger, interval: float | None = None
    ) -> None:
        """Post completions until the deadline: back to back, or one every `interval` seconds
        (paced; a tablet that is behind its schedule sends at once and the delay counts)."""
        acked = ledger.acked.setdefault(self.station.operation, set())
        scheduled = time.perf_counter() + (self.rng.uniform(0, interval) if interval else 0)
        while time.perf_counter() < deadline:
            if interval:
                await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
                if scheduled >= deadline:
                    break
            at, scheduled = (scheduled if interval else None), scheduled + (interval or 0)
            if self.sent and self.rng.randrange(RETRY_ONE_IN) == 0:
                # A deliberate retry of an acknowledged request: it must replay, not count.
                status = await self._send(self.rng.choice(self.sent), phase, at)
                ledger.retries += 1
                ledger.retry_statuses[status or "exception"] += 1
                continue
            body = self._body()
            status = await self._send(body, phase, at)
            # Like a real tablet, resend a failed request with the same key until it is
            # acknowledged (a few times); a 200 then means the failed attempt had been recorded.
            attempt = 0
            while status not in (200, 201) and attempt < ERROR_RETRIES:
                attempt += 1
                ledger.error_retries += 1
                await asyncio.sleep(0.1 * attempt)
                status = await self._send(body, phase)
                ledger.recovered_replays += status == 200
            if status in (200, 201):
                acked.add(body["idempotency_key"])
                self.sent.append(body)
                phase.ok += 1
            else:
                ledger.unacknowledged += 1


async def run_load(server: Server, stations: list[Station], args) -> tuple[Phase, Phase, Ledger]:
    tablets = [Tablet(server.url, station, args.timeout) for station in stations]
    ledger = Ledger()
    try:
        t0 = time.perf_counter()
        # Sign-ins hash a password each (deliberately slow): a few at a time, like a shift change.
        gate = asyncio.Semaphore(8)

        async def sign_in(tablet: Tablet) -> None:
            async with gate:
                await tablet.sign_in()

        await asyncio.gather(*(sign_in(t) for t in tablets))
        log(f"  {len(tablets)} tablets signed in ({time.perf_counter() - t0:.1f} s)")

        async def run(phase: Phase, seconds: float, work) -> Phase:
            server_cpu, client_cpu = tree_cpu_seconds(server.pid), own_cpu_seconds()
            db_cpu = postgres_cpu_seconds(args.database)
            sampler = PgActivitySampler(args.database).start()
            phase.started = time.perf_counter()
            deadline = phase.started + seconds
            await asyncio.gather(*(work(t, deadline, phase) for t in tablets))
            phase.ended = time.perf_counter()
            phase.server_cpu = tree_cpu_seconds(server.pid) - server_cpu
            phase.client_cpu = own_cpu_seconds() - client_cpu
            phase.db_cpu = postgres_cpu_seconds(args.database) - db_cpu
            phase.db_sessions = sampler.stop()
            return phase

        # Warm every worker up (imports, connections, caches) on both endpoints; not measured,
        # but its completions are acknowledged and checked like the others.
        await run(Phase("warm-up ping"), WARMUP_SECONDS / 2, lambda t, d, p: t.ping_until(d, p))
        await run(
            Phase("warm-up completions"),
            WARMUP_SECONDS / 2,
            lambda t, d, p: t.complete_until(d, p, ledger),
        )
        ping = await run(Phase("ping"), args.ping_seconds, lambda t, d, p: t.ping_until(d, p))
        interval = len(tablets) / args.rate if args.rate > 0 else None
        complete = await run(
            Phase("completions"), args.seconds, lambda t, d, p: t.complete_until(d, p, ledger, interval)
        )
        capacity = None
        if interval and args.capacity_seconds > 0:
            capacity = await run(
                Phase("capacity"),
                args.capacity_seconds,
                lambda t, d, p: t.complete_until(d, p, ledger),
            )
    finally:
        await asyncio.gather(*(t.close() for t in tablets), return_exceptions=True)
    return ping, complete, capacity, ledger


# --- Check --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    """The ledger before the run: with --reuse-data, earlier runs' events are not ours."""

    last_event_id: int
    counters: dict[int, int]


def snapshot(stations: list[Station]) -> Baseline:
    from django.db.models import Max

    from workorders.models import ProductionEvent, WorkOrderOperation

    last = ProductionEvent.objects.aggregate(m=Max("id"))["m"] or 0
    ops = [s.operation for s in stations]
    counters = dict(WorkOrderOperation.objects.filter(pk__in=ops).values_list("pk", "quantity_good"))
    return Baseline(last, {op: int(qty) for op, qty in counters.items()})


def check_ledger(ledger: Ledger, baseline: Baseline) -> dict:
    """Compare acknowledged keys with the ledger and the operation counters, per operation.

    lost: acknowledged keys without a ledger event, or a counter below the acknowledgements.
    duplicated: events beyond the acknowledged keys, or a counter above them.
    """
    from django.db.models import Count

    from workorders.models import ProductionEvent, WorkOrderOperation
    from workorders.states import EventKind

    ops = list(baseline.counters)
    counters = dict(WorkOrderOperation.objects.filter(pk__in=ops).values_list("pk", "quantity_good"))
    rows = (
        ProductionEvent.objects.filter(
            kind=EventKind.GOOD, operation_id__in=ops, id__gt=baseline.last_event_id
        )
        .values("operation_id", "idempotency_key")
        .annotate(n=Count("id"))
    )
    recorded: dict[int, Counter] = {op: Counter() for op in ops}
    for row in rows:
        recorded[row["operation_id"]][str(row["idempotency_key"])] += row["n"]

    lost = duplicated = unacknowledged = mismatched = 0
    for op in ops:
        acked, keys = ledger.acked.get(op, set()), recorded[op]
        events = sum(keys.values())
        counted = int(counters.get(op, 0)) - baseline.counters[op]  # quantity 1 per completion
        missing = len(acked - keys.keys())
        lost += max(missing, len(acked) - counted, 0)
        duplicated += max(events - (len(acked) - missing), counted - len(acked), 0)
        unacknowledged += len(keys.keys() - acked)  # recorded though the tablet saw an error
        mismatched += counted != events
    return {
        "operations": len(ops),
        "acknowledged": sum(len(a) for a in ledger.acked.values()),
        "events": sum(sum(c.values()) for c in recorded.values()),
        "counted": int(sum(counters.values())) - sum(baseline.counters.values()),
        "lost": lost,
        "duplicated": duplicated,
        "recorded_unacknowledged": unacknowledged,
        "counter_not_ledger": mismatched,
    }


# --- Report -------------------------------------------------------------------------------------


def _fmt_statuses(phase: Phase) -> str:
    parts = [f"{status}: {n}" for status, n in sorted(phase.statuses.items())]
    parts += [f"{name}: {n}" for name, n in sorted(phase.exceptions.items())]
    return ", ".join(parts) or "none"


def report(
    ping: Phase,
    complete: Phase,
    capacity: Phase | None,
    ledger: Ledger,
    check: dict,
    workers: int,
    loads: str,
    probes: str,
    rate: float,
) -> dict:
    throughput = complete.ok / complete.seconds
    ping_throughput = ping.ok / ping.seconds
    lat = percentiles(complete.latencies_ms)
    ping_lat = percentiles(ping.latencies_ms)
    result = {
        "throughput_per_s": round(throughput, 1),
        "p50_ms": round(lat[50], 1),
        "p95_ms": round(lat[95], 1),
        "p99_ms": round(lat[99], 1),
        "errors": complete.errors,
        "lost": check["lost"],
        "duplicated": check["duplicated"],
        "ratio_to_noop": round(throughput / ping_throughput, 3) if ping_throughput else None,
        "server_cpu_ms_per_completion": round(complete.server_ms, 2),
        "server_cpu_ms_per_noop": round(ping.server_ms, 2),
        "cpu_ratio": (
            round((complete.server_ms + complete.db_ms) / (ping.server_ms + ping.db_ms), 2)
            if ping.server_ms + ping.db_ms > 0
            else None
        ),
    }

    def mark(name: str) -> str:
        value, target = result[name], TARGETS[name]
        good = value >= target if name == "throughput_per_s" else value <= target
        return f"(target {'>=' if name == 'throughput_per_s' else '<='} {target:g}: {'met' if good else 'MISSED'})"

    log("")
    log(f"load average            {loads} (1/5/15 min, before -> after; others' work skews figures)")
    log(f"cpu speed probe         {probes} (a fixed loop; ~200 ms on an idle core, more when shared)")
    log(f"workers                 {workers} uvicorn worker(s) ({WORKER_CHOICE_NOTE})")
    pacing = f"paced: {rate:g} completions/s offered together" if rate > 0 else "closed loop"
    log(f"tablets                 {TABLETS} (own session each, HTTP/1.1 keep-alive, {pacing})")
    log(f"completions             {complete.ok} acknowledged in {complete.seconds:.1f} s")
    log(f"  throughput            {throughput:.1f} /s {mark('throughput_per_s')}")
    log(
        f"  latency               p50 {lat[50]:.1f} ms, p95 {lat[95]:.1f} ms {mark('p95_ms')}, "
        f"p99 {lat[99]:.1f} ms, max {max(complete.latencies_ms, default=float('nan')):.1f} ms"
    )
    log(f"  responses             {_fmt_statuses(complete)}")
    log(f"  errors                {complete.errors} {mark('errors')}")
    replayed = ledger.retry_statuses.get(200, 0)
    log(
        f"  retries               {ledger.retries} re-sent with an acknowledged key: {replayed} replayed (200)"
        + "".join(f", {n} got {st}" for st, n in sorted(ledger.retry_statuses.items(), key=str) if st != 200)
    )
    log(
        f"  after errors          {ledger.error_retries} re-sent with the failed request's key, "
        f"{ledger.recovered_replays} of them found it already recorded (200); "
        f"{ledger.unacknowledged} given up unacknowledged"
    )
    log(
        f"ledger check            {check['acknowledged']} keys acknowledged over {check['operations']} "
        f"operations (warm-up included); {check['events']} complete events, {check['counted']} counted"
    )
    log(f"  lost                  {check['lost']} {mark('lost')}")
    log(f"  duplicated            {check['duplicated']} {mark('duplicated')}")
    log(
        f"  other                 {check['recorded_unacknowledged']} recorded but unacknowledged, "
        f"{check['counter_not_ledger']} operations whose counter differs from their ledger"
    )
    log(
        f"ping (no-op baseline)   {ping_throughput:.1f} /s, p50 {ping_lat[50]:.1f} ms, "
        f"p95 {ping_lat[95]:.1f} ms, p99 {ping_lat[99]:.1f} ms; {_fmt_statuses(ping)}"
    )
    log(
        f"ratio to no-op          {result['ratio_to_noop']} completions per ping "
        f"(target >= {RATIO_TARGETS['ratio_to_noop']:g}); CPU (server + PostgreSQL) per completion "
        f"/ per ping {result['cpu_ratio']} (target <= {RATIO_TARGETS['cpu_ratio']:g})"
    )
    for phase in (complete, ping):
        n = phase.requests
        server_ms, client_ms, db_ms = (
            x / n * 1000 for x in (phase.server_cpu, phase.client_cpu, phase.db_cpu)
        )
        log(
            f"cpu per {phase.name[:4]:4} request   server {server_ms:.2f} ms, PostgreSQL "
            + (f">= {db_ms:.2f} ms, " if db_ms >= 0 else "n/a (its connections came and went), ")
            + f"load generator {client_ms:.2f} ms; cores busy: server {phase.server_cpu / phase.seconds:.2f}, "
            f"PostgreSQL {phase.db_cpu / phase.seconds:.2f}, load generator {phase.client_cpu / phase.seconds:.2f}"
        )
        if phase.db_sessions:
            states = ", ".join(f"{k} {v:.1f}" for k, v in phase.db_sessions.items())
            log(f"  database sessions     mean over the phase: {states}")
        db_ms = max(db_ms, 0.0)
        if phase is complete and server_ms + db_ms + client_ms > 0:
            log(
                f"  on 2 idle cores       at most ~{2000 / (server_ms + db_ms + client_ms):.0f} completions/s "
                "would fit (2 cores / CPU per completion, all three on this machine)"
            )
    if capacity is not None and capacity.ok:
        most = capacity.ok / capacity.seconds
        cap_lat = percentiles(capacity.latencies_ms)
        log(
            f"capacity                {most:.1f} completions/s back to back for {capacity.seconds:.0f} s "
            f"(p50 {cap_lat[50]:.1f} ms, p95 {cap_lat[95]:.1f} ms; {_fmt_statuses(capacity)})"
        )
    if complete.ok and rate <= 0:
        log(
            f"note                    closed loop: {TABLETS} tablets / {throughput:.0f} per s "
            f"= {TABLETS / throughput * 1000:.0f} ms mean latency by Little's law"
        )
    elif complete.ok:
        log(
            "note                    latency counts from each paced send's scheduled moment: a server "
            "that falls behind the offered rate shows it as latency"
        )
    return result


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="uvicorn worker processes")
    parser.add_argument("--seconds", type=float, default=COMPLETE_SECONDS, help="completions phase")
    parser.add_argument(
        "--rate",
        type=float,
        default=TARGETS["throughput_per_s"],
        help="completions per second the tablets offer together (0: back to back)",
    )
    parser.add_argument(
        "--capacity-seconds",
        type=float,
        default=CAPACITY_SECONDS,
        help="after a paced run, this long back to back for the most the server takes",
    )
    parser.add_argument("--ping-seconds", type=float, default=PING_SECONDS, help="ping baseline phase")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, seconds")
    parser.add_argument("--reuse-data", action="store_true", help="skip recreating the database")
    parser.add_argument("--database", default=DATABASE, help="the bench's own database (dropped and created)")
    parser.add_argument(
        "--lines",
        type=int,
        default=1,
        help="spread the workstations over this many lines (experiments; the issue's plant has one)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the server only (experiments: DB_CONN_MAX_AGE=0, ...)",
    )
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra uvicorn argument (experiments: --server-arg=--interface=wsgi ...)",
    )
    parser.add_argument("--app", default="config.asgi:application", help="the application uvicorn serves")
    return parser.parse_args(argv)


def load_stations(count: int) -> list[Station]:
    """The stations an earlier run built (--reuse-data)."""
    from workorders.models import WorkOrderOperation

    operations = WorkOrderOperation.objects.filter(workstation__line__site__code="BENCH").select_related(
        "workstation"
    )
    by_code = {op.workstation.code: op for op in operations}
    stations = []
    for i in range(1, count + 1):
        op = by_code.get(f"WS{i:02d}")
        if op is None:
            raise SetupFailed("no bench data to reuse: run once without --reuse-data")
        stations.append(Station(f"op{i:02d}", PASSWORD, op.workstation_id, op.pk))
    return stations


def main(argv=None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    try:
        check_redis(REDIS_URL)
        if args.reuse_data:
            db_url = database_url(args.database)
            setup_django(db_url)
            stations = load_stations(TABLETS)
        else:
            db_url = recreate_database(args.database)
            setup_django(db_url)
            log(f"database {args.database} created and migrated ({time.perf_counter() - t0:.1f} s)")
            stations = build_plant(TABLETS, args.lines)
        baseline = snapshot(stations)
        log(
            f"plant ready: {len(stations)} workstations, operators and started orders "
            f"({time.perf_counter() - t0:.1f} s)"
        )
        from django.db import connections

        connections.close_all()
    except SetupFailed as exc:
        log(f"setup failed: {exc}")
        return 2
    except Exception:
        traceback.print_exc()
        log("setup failed while building the bench data")
        return 2

    extra_env = dict(item.split("=", 1) for item in args.server_env)
    if extra_env:
        log(f"server environment overrides: {extra_env}")
    if args.server_arg or args.app != "config.asgi:application":
        log(f"server: {args.app} {' '.join(args.server_arg)}")
    server = Server(
        server_env(db_url, **extra_env),
        workers=args.workers,
        name="completions-server",
        extra_args=args.server_arg,
        app=args.app,
    )
    load_before, probe_before = load_average(), cpu_speed_probe()
    try:
        with server:
            log(f"server up at {server.url} with {args.workers} worker(s); log: {server.log_path}")
            ping, complete, capacity, ledger = asyncio.run(run_load(server, stations, args))
    except SetupFailed as exc:
        log(f"setup failed: {exc}")
        return 2
    except Exception:
        traceback.print_exc()
        log(f"the run failed; server log: {server.log_path}")
        return 2
    loads = f"{load_before} -> {load_average()}"
    probes = f"{probe_before:.0f} ms -> {cpu_speed_probe():.0f} ms"

    check = check_ledger(ledger, baseline)
    result = report(ping, complete, capacity, ledger, check, args.workers, loads, probes, args.rate)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    record = {**result, "workers": args.workers, "server_env": extra_env, "load": loads, "probe": probes}
    with open(RESULTS_DIR / "completions.jsonl", "a") as f:
        f.write(json.dumps(record) + "\n")
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
