"""Checklist submissions from 50 tablets at once: throughput, latency, and each run recorded once.

With no arguments it
1. drops and creates the PostgreSQL database `mes_bench_checklists` (127.0.0.1:5432, user
   postgres), migrates it and builds, through the project's services, one site, one line, 50
   workstations, 50 operators with API tokens, and an effective 20-item checklist (checks,
   pass/fail, numbers with spec limits, choices, text);
2. serves the project with uvicorn (PostgreSQL + Redis, like production) on a free loopback port;
3. has 50 simulated tablets (each its own httpx client and token) submit complete 20-item runs to
   /api/v1/checklist-runs/ for 30 s, each with a fresh idempotency key, paced so that together
   they offer 10 runs per second (one every 5 s per tablet, each waiting for its answer; a person
   needs a minute or more to fill 20 items, so this is a busy floor many times over); latency
   counts from each send's scheduled moment, so a server that falls behind shows it. Then 10 s
   back to back for the most the server takes (capacity). About 1 in 20 submissions re-sends an
   acknowledged one with its key, which must replay (200) and add nothing; about 1 in 10 values
   is out of spec and opens a nonconformance;
4. measures the no-op baseline through the same server: the 50 tablets, each signed in through
   /login/ with its own session, send the authenticated GET /ping back to back for 10 s;
5. compares what was acknowledged with the runs and responses in the database;
6. prints the figures and, as the last line, one JSON object
   {"throughput_per_s": ..., "p50_ms": ..., "p95_ms": ..., "errors": ..., "ratio_to_noop": ...},
   where ratio_to_noop is the capacity (runs per second back to back) / pings per second: a paced
   run offers far less than the server takes, so only the capacity says what a run costs.

It exits 0 whether or not the target (p95 <= 150 ms, errors 0) is met, and non-zero when the
setup itself fails.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    REDIS_URL,
    Server,
    SetupFailed,
    check_redis,
    log,
    percentiles,
    recreate_database,
    server_env,
    setup_django,
)

DATABASE = "mes_bench_checklists"
TABLETS = 50
SECONDS = 30.0
WARMUP_SECONDS = 3.0
CAPACITY_SECONDS = 10.0
RATE = 10.0  # runs per second offered by all tablets together; 0 sends back to back
RETRY_ONE_IN = 20
WORKERS = 2
PING_SECONDS = 10.0
PASSWORD = "bench-operator-pass-1"
TARGETS = {"p95_ms": 150.0, "errors": 0}


def build_plant(count: int) -> tuple[int, list[tuple[str, int]], list[dict]]:
    """The plant, the operators' tokens and the effective checklist, made through the services."""
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from mes import roles
    from mes.models import Line, Site, User, Workstation
    from quality import services

    author = User.objects.create(
        username="bench-quality", first_name="Bench", last_name="Quality", all_sites=True
    )
    author.set_password("bench-quality-pass-1")
    author.save()
    author.groups.add(Group.objects.get(name=roles.QUALITY))
    site = Site.objects.create(code="BENCH", name="Bench plant", time_zone="UTC")
    line = Line.objects.create(site=site, code="L1", name="Bench line")
    items = []
    for i in range(20):
        kind = ["check", "pass_fail", "number", "number", "choice", "text"][i % 6]
        item = {"kind": kind, "prompt": f"Item {i + 1}", "required": kind != "text"}
        if kind == "number":
            item.update(unit="mm", lsl="9.90", usl="10.10", target="10.00", decimals=2)
        if kind == "choice":
            item.update(choices=["A", "B", "C"])
        items.append(item)
    version = services.template_create(site=site, code="BENCH20", title="Bench 20-item check", user=author)
    for item in items:
        services.item_add(version_id=version.pk, user=author, data=item)
    services.version_submit(version_id=version.pk, user=author)
    services.version_approve(version_id=version.pk, user=author, password="bench-quality-pass-1")
    services.version_make_effective(version_id=version.pk, user=author)
    described = [
        {"field": f"item_{it.pk}", "kind": it.kind, "choices": it.choices}
        for it in version.items.order_by("position")
    ]
    operator_group = Group.objects.get(name=roles.OPERATOR)
    # One password for all (for the ping baseline's sign-in), hashed once: PBKDF2 takes about
    # half a second a hash by design.
    template = User()
    template.set_password(PASSWORD)
    tablets = []
    for i in range(1, count + 1):
        station = Workstation.objects.create(line=line, code=f"WS{i:02d}", name=f"Bench station {i:02d}")
        operator = User.objects.create(
            username=f"op{i:02d}",
            first_name="Bench",
            last_name=f"Operator {i:02d}",
            password=template.password,
        )
        operator.sites.add(site)
        operator.groups.add(operator_group)
        tablets.append((Token.objects.create(user=operator).key, station.pk))
    return version.template_id, tablets, described


async def ping_rate(url: str, usernames: list[str], seconds: float) -> tuple[float, int]:
    """Pings per second of `usernames`' tablets, each signed in with its own session and sending
    the authenticated no-op GET /ping back to back for `seconds`; and how many pings failed."""
    import httpx

    clients = [httpx.AsyncClient(base_url=url, timeout=10) for _ in usernames]
    gate = asyncio.Semaphore(8)  # sign-ins hash a password each: a few at a time
    counts = {"ok": 0, "failed": 0}

    async def sign_in(client, username: str) -> None:
        async with gate:
            await client.get("/login/")
            response = await client.post(
                "/login/",
                data={"username": username, "password": PASSWORD},
                headers={"X-CSRFToken": client.cookies.get("csrftoken") or "", "Referer": f"{url}/login/"},
            )
        if response.status_code != 302:
            raise SetupFailed(f"{username} could not sign in for the ping baseline: {response.status_code}")

    async def ping_until(client, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                ok = (await client.get("/ping")).status_code == 200
            except Exception:
                ok = False
            counts["ok" if ok else "failed"] += 1

    try:
        await asyncio.gather(*(sign_in(c, u) for c, u in zip(clients, usernames, strict=True)))
        begin = time.monotonic()
        await asyncio.gather(*(ping_until(c, begin + seconds) for c in clients))
        elapsed = time.monotonic() - begin
    finally:
        await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)
    return counts["ok"] / max(elapsed, 1e-9), counts["failed"]


def answers(items: list[dict], rng: random.Random) -> dict:
    out = {}
    for item in items:
        kind = item["kind"]
        if kind == "check":
            out[item["field"]] = "on"
        elif kind == "pass_fail":
            out[item["field"]] = "pass"
        elif kind == "number":
            value = 10.15 if rng.random() < 0.05 else rng.gauss(10.0, 0.03)
            out[item["field"]] = f"{value:.2f}"
        elif kind == "choice":
            out[item["field"]] = rng.choice(item["choices"])
        else:
            out[item["field"]] = "ok"
    return out


async def tablet(url, token, station, template, items, deadline, warmup_until, stats, seed, interval):
    """Submit runs until the deadline: one every `interval` seconds (paced), or back to back."""
    import httpx

    rng = random.Random(seed)
    headers = {"Authorization": f"Token {token}"}
    acknowledged: list[tuple[str, dict]] = []
    scheduled = time.monotonic() + (rng.uniform(0, interval) if interval else 0)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as client:
        while time.monotonic() < deadline:
            if interval:
                await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
                if scheduled >= deadline:
                    break
            if acknowledged and rng.randrange(RETRY_ONE_IN) == 0:
                key, body = rng.choice(acknowledged)
                retry = True
            else:
                key = str(uuid.uuid4())
                body = {"template": template, "workstation": station, "answers": answers(items, rng)}
                retry = False
            started = scheduled if interval else time.monotonic()
            scheduled += interval or 0
            try:
                response = await client.post(
                    "/api/v1/checklist-runs/", json=body, headers={"Idempotency-Key": key}
                )
                status = response.status_code
            except Exception as exc:
                status = f"{type(exc).__name__}"
            elapsed = (time.monotonic() - started) * 1000
            expected = 200 if retry else 201
            if status != expected:
                stats["errors"] += 1
                stats.setdefault("error_kinds", {}).setdefault(str(status), 0)
                stats["error_kinds"][str(status)] += 1
                continue
            if started >= warmup_until:
                stats["latencies"].append(elapsed)
                stats["measured"] += 1
            if retry:
                stats["replays"] += 1
            else:
                acknowledged.append((key, body))
                stats["acknowledged"] += 1


def new_stats() -> dict:
    return {"latencies": [], "errors": 0, "acknowledged": 0, "replays": 0, "measured": 0}


async def run_load(url, tablets, template, items, *, seconds, warmup, rate, stats=None, seed=0):
    stats = stats if stats is not None else new_stats()
    start = time.monotonic()
    warmup_until = start + warmup
    deadline = warmup_until + seconds
    interval = len(tablets) / rate if rate > 0 else None
    await asyncio.gather(
        *(
            tablet(url, token, station, template, items, deadline, warmup_until, stats, seed + i, interval)
            for i, (token, station) in enumerate(tablets)
        )
    )
    return stats


def main() -> int:
    try:
        check_redis()
        db_url = recreate_database(DATABASE)
        log(f"database {DATABASE}: migrating and building the plant")
        setup_django(db_url)
        template, tablets, items = build_plant(TABLETS)
        env = server_env(db_url, REDIS_URL)
        with Server(env, workers=WORKERS, name="checklists-server") as server:
            log(
                f"server {server.url} ({WORKERS} workers); {TABLETS} tablets for {SECONDS:.0f} s after {WARMUP_SECONDS:.0f} s warm-up"
            )
            stats = asyncio.run(
                run_load(
                    server.url, tablets, template, items, seconds=SECONDS, warmup=WARMUP_SECONDS, rate=RATE
                )
            )
            capacity = asyncio.run(
                run_load(
                    server.url,
                    tablets,
                    template,
                    items,
                    seconds=CAPACITY_SECONDS,
                    warmup=0,
                    rate=0,
                    seed=1000,
                )
            )
            usernames = [f"op{i:02d}" for i in range(1, TABLETS + 1)]
            pings_per_s, ping_failures = asyncio.run(ping_rate(server.url, usernames, PING_SECONDS))
    except SetupFailed as exc:
        log(f"setup failed: {exc}")
        return 2

    from quality.models import ChecklistResponse, ChecklistRun, Nonconformance

    runs = ChecklistRun.objects.filter(status="completed").count()
    responses = ChecklistResponse.objects.count()
    lost_or_doubled = runs - stats["acknowledged"] - capacity["acknowledged"]
    figures = percentiles(stats["latencies"])
    result = {
        "throughput_per_s": round(stats["measured"] / SECONDS, 1),
        "p50_ms": round(figures[50], 1),
        "p95_ms": round(figures[95], 1),
        "errors": stats["errors"] + capacity["errors"] + abs(lost_or_doubled),
        "ratio_to_noop": round(capacity["measured"] / CAPACITY_SECONDS / pings_per_s, 3)
        if pings_per_s
        else None,
    }
    log(
        f"runs acknowledged {stats['acknowledged']}, in the database {runs} (difference {lost_or_doubled}); "
        f"responses {responses} ({responses / max(runs, 1):.1f} per run); replays {stats['replays']}; "
        f"nonconformances opened {Nonconformance.objects.count()}"
    )
    if stats.get("error_kinds"):
        log(f"errors by status: {stats['error_kinds']}")
    log(
        f"offered {RATE:g} runs/s paced; p99 {figures[99]:.1f} ms; "
        f"targets: p95 <= {TARGETS['p95_ms']:.0f} ms, errors {TARGETS['errors']}"
    )
    most = percentiles(capacity["latencies"])
    log(
        f"capacity: {capacity['measured'] / CAPACITY_SECONDS:.1f} runs/s back to back for {CAPACITY_SECONDS:.0f} s "
        f"(p50 {most[50]:.0f} ms, p95 {most[95]:.0f} ms, errors {capacity['errors']})"
    )
    log(
        f"ping (no-op baseline): {pings_per_s:.1f} /s back to back, {ping_failures} failed; "
        f"ratio to no-op {result['ratio_to_noop']} (capacity runs per ping)"
    )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
