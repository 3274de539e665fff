"""Live dashboards under load, and MQTT ingest, on PostgreSQL + Redis like production.

With no arguments it
1. drops and creates the PostgreSQL database `mes_bench_live`, migrates it and builds a plant
   through the services: one site, 4 lines of 3 workstations, a released order per workstation
   with its operation started, and a supervisor who sees the site;
2. starts two ASGI processes (uvicorn) sharing channels_redis;
3. opens 200 dashboard websockets (line view), half on each process, spread over the lines;
   each applies deltas by sequence and re-reads the snapshot on a gap, like static/js/live.js;
4. commits good counts through the services from two processes of their own (half of the lines
   each) that send their deltas like the MQTT ingestor does (line publishers on a thread, through
   Redis to both servers): first back to back for 10 s, with the dashboards connected, to measure
   the rate the producers can commit (their capacity); then, for 30 s, half of that rate, paced,
   and measures commit -> receive
   latency of every delivery, deliveries missed after gap recovery (a client whose last sequence
   lags the database's after the run), the servers' memory per open connection, and what the
   production cost: the cores the whole machine kept busy meanwhile, and CPU per committed event
   in the producers and in the servers;
5. starts its own Mosquitto and `manage.py ingest_mqtt`, publishes 650 count messages per second
   for 20 s (cumulative counters of 10 workstations), more than the 500/s target so the rate
   measured is the ingest's and not the publisher's, and counts what reached the ledger: the rate
   is the messages recorded over the time from the first publish until the last was recorded.
The last line is one JSON object: the producers' capacity and the rate offered and committed
(capacity_per_s, offered_per_s, event_rate_per_s), the dashboards connected, commit -> screen
p50/p95/p99, missed, memory per connection, and MQTT's rate and lost. It measures; it exits 0
whatever the figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    BASE_DIR,
    RESULTS_DIR,
    Server,
    SetupFailed,
    check_redis,
    free_port,
    load_average,
    log,
    machine_busy_seconds,
    percentiles,
    recreate_database,
    server_env,
    setup_django,
    tree_cpu_seconds,
)

DATABASE = "mes_bench_live"
LINES, STATIONS = 4, 3
CLIENTS = 200
CAPACITY_SECONDS, EVENT_SECONDS = 10.0, 30.0
OFFERED_SHARE = 0.5  # of the producers' measured capacity, offered in the measured phase
PRODUCERS = 2  # processes committing the events, each with its own lines
MQTT_RATE, MQTT_SECONDS, MQTT_STATIONS = 650, 20.0, 10


def build_plant():
    from decimal import Decimal

    from django.contrib.auth.models import Group

    from mes import roles
    from mes.models import Line, Shift, Site, User, Workstation
    from workorders import services
    from workorders.models import Product, ReasonCode, Routing, RoutingOperation
    from workorders.states import Loss, ReasonKind

    site = Site.objects.create(code="BENCH", name="Bench plant", time_zone="UTC")
    Shift.objects.create(site=site, name="All day", start_time="00:00", end_time="00:00", weekdays="1234567")
    supervisor = User.objects.create(username="bench-supervisor", all_sites=True)
    supervisor.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    ReasonCode.objects.create(code="JAM", name="Jam", kind=ReasonKind.DOWNTIME, loss=Loss.SMALL_STOP)
    ReasonCode.objects.create(code="MACHINE-REJECT", name="Reject", kind=ReasonKind.SCRAP)
    stations, ops = [], []
    product = Product.objects.create(part_number="B-1", name="Bench part")
    for li in range(max(LINES, 1)):
        line = Line.objects.create(site=site, code=f"L{li}", name=f"Line {li}")
        for si in range(STATIONS + (MQTT_STATIONS // LINES + 1)):
            ws = Workstation.objects.create(line=line, code=f"W{si}", name=f"Station {si}")
            routing = Routing.objects.create(product=product, code=f"R{li}-{si}", name="Bench")
            RoutingOperation.objects.create(
                routing=routing, sequence=10, name="Run", workstation=ws, ideal_cycle_seconds=Decimal("1")
            )
            order = services.workorder_create(
                number=f"WO-{li}-{si}",
                product=product,
                routing=routing,
                line=line,
                quantity=10**6,
                user=supervisor,
            )
            services.workorder_transition(
                work_order_id=order.pk, target="released", user=supervisor, key=uuid.uuid4()
            )
            op = order.operations.get()
            services.operation_start(operation_id=op.pk, workstation=ws, user=supervisor, key=uuid.uuid4())
            stations.append(ws)
            ops.append(op)
    return site, supervisor, stations, ops


def session_cookie(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def rss_kb(pid: int) -> int:
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("PPid", "0").strip()) == pid or int(entry) == pid:
            total += int(fields.get("VmRSS", "0 kB").split()[0])
    return total


class Dashboard:
    def __init__(self, url: str, line_id: int, cookie: str):
        self.url, self.line_id, self.cookie = url, line_id, cookie
        self.seq = 0
        self.latencies: list[float] = []
        self.to_built: list[float] = []  # commit -> delta built (publisher's queue and build)
        self.gaps = 0
        self.snapshots = 0
        self.ws = None

    async def run(self, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
        import websockets

        async with websockets.connect(
            self.url,
            additional_headers={"Cookie": self.cookie, "Origin": "http://127.0.0.1"},
            max_size=2**22,
            ping_interval=None,  # the dashboard's own heartbeat and sequence check are what count
        ) as ws:
            self.ws = ws
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                now = time.time()
                msg = json.loads(raw)
                if msg["type"] == "snapshot":
                    self.snapshots += 1
                    self.seq = max(self.seq, msg["lines"][0]["seq"])
                elif msg["type"] == "delta":
                    self.latencies.append((now - msg["committed_at"]) * 1000)
                    built = datetime.fromisoformat(msg["at"]).timestamp()
                    self.to_built.append((built - msg["committed_at"]) * 1000)
                    if msg["seq"] > self.seq + 1:
                        self.gaps += 1
                        await ws.send(json.dumps({"type": "snapshot"}))
                    self.seq = max(self.seq, msg["seq"])
                elif msg["type"] == "heartbeat" and msg["seqs"].get(str(self.line_id), 0) > self.seq:
                    await ws.send(json.dumps({"type": "snapshot"}))


def produce(ops, stations, seconds: float, rate: float | None, threads: int = 4) -> int:
    """Commit `rate` good counts per second for `seconds`, from a few threads, or as many as they
    can with `rate` None; returns how many."""
    from django.db import close_old_connections

    from workorders import services

    count = [0]
    lock = threading.Lock()
    start = time.monotonic()
    pairs = list(zip(ops, stations, strict=True))

    def worker(index: int) -> None:
        n = index
        while True:
            due = start + n / rate if rate else time.monotonic()
            if due - start >= seconds:
                break
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            op, ws = pairs[n % len(pairs)]
            services.operation_record_good(
                operation_id=op.pk, workstation=ws, user=ops_user, quantity=1, key=uuid.uuid4()
            )
            with lock:
                count[0] += 1
            n += threads
        close_old_connections()

    from mes.models import User

    ops_user = User.objects.get(username="bench-supervisor")
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return count[0]


def produce_elsewhere(
    db_url: str, ops_by_line: dict[int, list[int]], seconds: float, rate: float | None
) -> tuple[int, float]:
    """`produce` in processes of their own, so the dashboards' clients here don't share their CPU
    time and the latency they see is the system's, not this script's. Two processes, each with
    half of the lines (as two ingestors or web workers would be): one process alone spends its
    time waiting for its own interpreter lock, and its deltas wait with it. Returns the events
    committed and the CPU seconds the producers used (their services and their deltas). `rate`
    is for all of them together; None commits back to back."""
    import multiprocessing

    lines = sorted(ops_by_line)
    shares = [[op for line in lines[i::PRODUCERS] for op in ops_by_line[line]] for i in range(PRODUCERS)]
    total = sum(len(share) for share in shares)
    jobs = [(db_url, share, seconds, rate * len(share) / total if rate else None) for share in shares]
    with multiprocessing.get_context("spawn").Pool(PRODUCERS) as pool:
        results = pool.starmap(_producer_process, jobs)
    return sum(made for made, _ in results), sum(cpu for _, cpu in results)


def _producer_process(
    db_url: str, op_ids: list[int], seconds: float, rate: float | None
) -> tuple[int, float]:
    setup_django(db_url, migrate=False)
    from workorders.live import broadcast
    from workorders.models import WorkOrderOperation

    broadcast.start_publisher_thread()  # as the MQTT ingestor does
    found = WorkOrderOperation.objects.select_related("workstation").in_bulk(op_ids)
    ops = [found[pk] for pk in op_ids]
    cpu = time.process_time()
    made = produce(ops, [op.workstation for op in ops], seconds, rate)
    broadcast.stop_publisher_thread()  # once the last deltas have left
    return made, time.process_time() - cpu


def websocket_phase(servers, db_url, stations, ops, cookie) -> dict:
    from workorders.live.models import LineStatus

    line_ids = sorted({ws.line_id for ws in stations})
    work_ops = [op for op in ops if op.workstation.code in {f"W{i}" for i in range(STATIONS)}]
    memory_before = sum(rss_kb(s.pid) for s in servers)

    def cpu_of_servers() -> float:
        return sum(tree_cpu_seconds(s.pid) for s in servers)

    async def main():
        stop = asyncio.Event()
        clients = []
        for i in range(CLIENTS):
            server = servers[i % 2]
            line_id = line_ids[i % len(line_ids)]
            port = server.url.rsplit(":", 1)[1]
            clients.append(Dashboard(f"ws://127.0.0.1:{port}/ws/live/lines/{line_id}/", line_id, cookie))
        tasks = [asyncio.create_task(c.run(stop)) for c in clients]
        deadline = time.monotonic() + 60
        while sum(1 for c in clients if c.snapshots) < CLIENTS and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        connected = sum(1 for c in clients if c.snapshots)
        memory_after = sum(rss_kb(s.pid) for s in servers)
        ops_by_line: dict[int, list[int]] = {}
        for op in work_ops:
            ops_by_line.setdefault(op.workstation.line_id, []).append(op.pk)
        log(f"{connected} dashboards connected; producers back to back for {CAPACITY_SECONDS:.0f} s")
        t0 = time.monotonic()
        most, _ = await asyncio.to_thread(produce_elsewhere, db_url, ops_by_line, CAPACITY_SECONDS, None)
        capacity = most / (time.monotonic() - t0)
        offered = round(capacity * OFFERED_SHARE, 1)
        log(f"producers' capacity {capacity:.1f}/s; offering {offered}/s for {EVENT_SECONDS:.0f} s")
        await asyncio.sleep(3)  # the capacity phase's last deltas arrive, then count afresh
        for client in clients:
            client.latencies.clear()
            client.to_built.clear()
            client.gaps = 0
        busy, servers_cpu, t0 = machine_busy_seconds(), cpu_of_servers(), time.monotonic()
        made, producers_cpu = await asyncio.to_thread(
            produce_elsewhere, db_url, ops_by_line, EVENT_SECONDS, offered
        )
        took = time.monotonic() - t0
        cpu = {
            "machine": machine_busy_seconds() - busy,
            "servers": cpu_of_servers() - servers_cpu,
            "producers": producers_cpu,
        }
        await asyncio.sleep(5)  # let the last deltas and a heartbeat arrive
        finals = await asyncio.to_thread(
            lambda: dict(LineStatus.objects.filter(pk__in=line_ids).values_list("pk", "sequence"))
        )
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        return clients, connected, made, took, finals, memory_after, cpu, capacity, offered

    clients, connected, made, took, finals, memory_after, cpu, capacity, offered = asyncio.run(main())
    latencies = [x for c in clients for x in c.latencies]
    p = percentiles(latencies)
    built = percentiles([x for c in clients for x in c.to_built])
    missed = sum(1 for c in clients if c.seq < finals.get(c.line_id, 0))
    return {
        "clients": connected,
        "capacity_per_s": round(capacity, 1),
        "offered_per_s": offered,
        "events": made,
        "event_rate_per_s": round(made / took, 1),
        "deliveries": len(latencies),
        "commit_to_built_p50_p95_ms": [round(built[50], 1), round(built[95], 1)],
        "gaps": sum(c.gaps for c in clients),
        "p50_ms": round(p[50], 1),
        "p95_ms": round(p[95], 1),
        "p99_ms": round(p[99], 1),
        "missed": missed,
        "kb_per_connection": round(max(0, memory_after - memory_before) / max(1, connected), 1),
        # While the events were produced: the cores the whole machine kept busy (of
        # os.cpu_count()), and CPU per committed event in the producers (services and deltas)
        # and in the two servers (fanning the deltas out).
        "cores_busy": round(cpu["machine"] / took, 2),
        "producer_cpu_ms_per_event": round(cpu["producers"] / max(1, made) * 1000, 1),
        "server_cpu_ms_per_event": round(cpu["servers"] / max(1, made) * 1000, 1),
    }


def mqtt_phase(db_url: str, stations) -> dict:
    import paho.mqtt.client as mqtt

    from workorders.models import ProductionEvent
    from workorders.states import EventKind

    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    conf = Path(tempfile.mkdtemp()) / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n"
    )
    broker = subprocess.Popen(
        [mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(0.5)
    # Unbuffered: its stats lines tell when it has connected (`_wait_for_ingestor`).
    env = server_env(db_url, MQTT_URL=f"mqtt://127.0.0.1:{port}", PYTHONUNBUFFERED="1")
    ingest_log = open(RESULTS_DIR / "ingest_mqtt.log", "wb")  # noqa: SIM115
    ingest = subprocess.Popen(
        [sys.executable, "manage.py", "ingest_mqtt", "--stats-every", "5"],
        cwd=BASE_DIR,
        env=env,
        stdout=ingest_log,
        stderr=subprocess.STDOUT,
    )
    try:
        targets = [ws for ws in stations if ws.code not in {f"W{i}" for i in range(STATIONS)}][:MQTT_STATIONS]
        kinds = [EventKind.GOOD]
        before = sum(
            e
            for e in ProductionEvent.objects.filter(workstation__in=targets, kind__in=kinds).values_list(
                "quantity", flat=True
            )
        )
        _wait_for_ingestor(RESULTS_DIR / "ingest_mqtt.log", ingest)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-pub")
        client.max_inflight_messages_set(1000)
        client.connect("127.0.0.1", port)
        client.loop_start()
        counters = dict.fromkeys((ws.pk for ws in targets), 0)
        sent = 0
        start = time.monotonic()
        while time.monotonic() - start < MQTT_SECONDS:
            time.sleep(max(0.0, start + sent / MQTT_RATE - time.monotonic()))
            ws = targets[sent % len(targets)]
            counters[ws.pk] += 1
            topic = f"mes/BENCH/{ws.line.code}/{ws.code}/count"
            client.publish(topic, json.dumps({"id": f"b-{sent}", "good": counters[ws.pk]}), qos=1)
            sent += 1
        published = time.monotonic() - start
        deadline = time.monotonic() + 60
        recorded = 0
        while time.monotonic() < deadline:
            recorded = (
                sum(
                    e
                    for e in ProductionEvent.objects.filter(
                        workstation__in=targets, kind__in=kinds
                    ).values_list("quantity", flat=True)
                )
                - before
            )
            took = time.monotonic() - start
            if recorded >= sent:
                break
            time.sleep(0.1)
        client.disconnect()
        client.loop_stop()
        return {
            "mqtt_sent": sent,
            "mqtt_offered_per_s": MQTT_RATE,
            "mqtt_publish_rate_per_s": round(sent / published, 1),
            "mqtt_rate_per_s": round(float(recorded) / took, 1),
            "mqtt_lost": int(sent - recorded),
        }
    finally:
        ingest.terminate()
        ingest.wait(10)
        broker.terminate()
        broker.wait(10)


def _wait_for_ingestor(log_path: Path, ingest: subprocess.Popen, timeout: float = 180.0) -> None:
    """Until the ingestor has connected to the broker (its first stats line counts a connect).

    Messages published before it subscribes are not kept for it, so a fixed pause lost them all
    whenever Django took longer to start than the pause (a busy machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ingest.poll() is not None:
            raise SetupFailed(f"ingest_mqtt exited with {ingest.returncode}: see {log_path}")
        if b"'connects': 1" in log_path.read_bytes():
            time.sleep(0.5)  # it subscribes right after connecting
            return
        time.sleep(0.2)
    raise SetupFailed(f"ingest_mqtt did not connect within {timeout:.0f} s: see {log_path}")


def main() -> int:
    try:
        check_redis()
        db_url = recreate_database(DATABASE)
        setup_django(db_url)
    except SetupFailed as exc:
        log(f"setup failed: {exc}")
        return 2
    log(f"load average {load_average()}")
    _site, supervisor, stations, ops = build_plant()
    cookie = session_cookie(supervisor)
    env = server_env(db_url)
    with Server(env, name="live-a") as a, Server(env, name="live-b") as b:
        figures = websocket_phase([a, b], db_url, stations, ops, cookie)
    log(f"websockets: {figures}")
    try:
        figures.update(mqtt_phase(db_url, stations))
    except SetupFailed as exc:
        log(f"setup failed: {exc}")
        return 2
    log(f"load average {load_average()}")
    result = {
        k: figures[k]
        for k in (
            "capacity_per_s",
            "offered_per_s",
            "event_rate_per_s",
            "clients",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "missed",
            "kb_per_connection",
            "mqtt_offered_per_s",
            "mqtt_rate_per_s",
            "mqtt_lost",
        )
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
