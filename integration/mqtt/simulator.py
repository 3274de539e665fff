"""Machine traffic for the demo lines: cycles, micro-stops, breakdowns, scrap.

Each active workstation of the site runs a small random process: a cycle of about its running
operation's ideal cycle time adds one to its cumulative good counter (now and then to its scrap
counter instead); now and then a micro-stop (blocked for seconds) or a breakdown (down for
minutes, with a maintenance alarm) interrupts it.

Where it goes (`via`):
  mqtt    publish to MQTT_URL as `mes/<site>/<line>/<workstation>/state|count|alarm` (JSON), for
          `manage.py ingest_mqtt` to record;
  direct  call the same production services in-process (the embedded mode, no broker); here the
          simulator also plays the operator and starts the next queued operation of an idle
          workstation, so the demo keeps moving;
  auto    mqtt when MQTT_URL is set in the environment and the broker answers, else direct.

`manage.py simulate_line` runs it in a process of its own. The embedded demo server runs it in a
thread (`start_in_server`, under `SIMULATE_LINES`): the in-memory channel layer reaches only its
own process, so only there do its commits' deltas reach the dashboards as they happen.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import paho.mqtt.client as mqtt
from django.conf import settings
from django.db import close_old_connections, connection

from integration.mqtt.payloads import broker_address
from mes.demo import DEMO_SITE
from mes.errors import MesError
from mes.models import Workstation
from workorders import services
from workorders.selectors.floor import workstation_queue
from workorders.services.andon import andon_raise, andon_resolve_machine
from workorders.services.machine import (
    CountSample,
    machine_counts_record,
    machine_key,
    machine_state_record,
    machine_user,
)
from workorders.states import OperationStatus

logger = logging.getLogger(__name__)

MICRO_STOP = 0.06  # chance per cycle
BREAKDOWN = 0.006
SCRAP = 0.03


class NoStations(Exception):
    """The site has no active workstation to simulate."""


@dataclass
class Machine:
    workstation: Workstation
    topic: str
    good: int = 0
    scrap: int = 0
    state: str = "running"
    until: float = 0.0  # when the current stop ends / the next cycle completes
    cycle: float = 30.0
    alarm: str = ""
    seq: int = field(default_factory=lambda: random.randint(0, 10**6))


class LineSimulator:
    def __init__(
        self,
        *,
        site: str = "",
        via: str = "auto",
        url: str | None = None,
        speed: float = 1.0,
        say: Callable[[str], None] = logger.info,
    ):
        self.site = site or settings.MES_DEFAULT_SITE or DEMO_SITE
        self.url = url or settings.MQTT_URL
        if via == "auto":
            via = "mqtt" if "MQTT_URL" in os.environ and _reachable(self.url) else "direct"
        self.via, self.speed, self.say = via, speed, say
        self.client = None
        self.user = None

    def run(self, stop: threading.Event, seconds: float = 0.0) -> None:
        """Simulate until `stop` is set (or for `seconds`, when given)."""
        stations = list(
            Workstation.objects.filter(line__site__code=self.site, active=True)
            .select_related("line__site")
            .order_by("pk")
        )
        if not stations:
            raise NoStations(f"No active workstation at site {self.site!r}: run seed_demo first.")
        self.user = machine_user()
        if self.via == "mqtt":
            self._connect()
        now = time.monotonic()
        machines = []
        for ws in stations:
            m = Machine(ws, f"mes/{ws.line.site.code}/{ws.line.code}/{ws.code}", cycle=self._cycle(ws))
            m.until = now + random.uniform(0, m.cycle) / self.speed
            machines.append(m)
            self.emit(m, "state", {"state": "running"})
        self.say(
            f"simulating {len(machines)} workstations of {self.site} via {self.via} (speed x{self.speed:g})"
        )
        end = now + seconds if seconds else None
        try:
            while not stop.is_set() and (end is None or time.monotonic() < end):
                t = time.monotonic()
                for m in machines:
                    if t >= m.until:
                        try:
                            self.step(m, t)
                        except MesError as exc:
                            self.say(f"{m.workstation.code}: {exc}")
                if not connection.in_atomic_block:  # a caller's transaction (a test) keeps its connection
                    close_old_connections()
                stop.wait(0.2)
        finally:
            if self.client is not None:
                self.client.disconnect()
                self.client.loop_stop()

    def _connect(self) -> None:
        host, port, username, password = broker_address(self.url)
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"mes-sim-{uuid.uuid4().hex[:6]}"
        )
        if username:
            self.client.username_pw_set(username, password)
        self.client.connect(host, port)
        self.client.loop_start()

    def _cycle(self, ws) -> float:
        op = ws.operations.filter(status=OperationStatus.RUNNING).first()
        return float(op.ideal_cycle_seconds) if op else 30.0

    def step(self, m: Machine, t: float) -> None:
        speed = self.speed
        if m.state != "running":  # a stop ends
            m.state = "running"
            self.emit(m, "state", {"state": "running"})
            if m.alarm:
                self.emit(m, "alarm", {"kind": "maintenance", "active": False})
                m.alarm = ""
            m.until = t + m.cycle / speed
            return
        roll = random.random()
        if roll < BREAKDOWN:
            m.state = "down"
            m.alarm = "maintenance"
            self.emit(m, "state", {"state": "down", "reason": "BREAKDOWN"})
            self.emit(
                m, "alarm", {"kind": "maintenance", "text": "Breakdown: machine stopped", "active": True}
            )
            m.until = t + random.uniform(60, 300) / speed
            return
        if roll < BREAKDOWN + MICRO_STOP:
            m.state = "blocked"
            self.emit(m, "state", {"state": "blocked", "reason": "JAM"})
            m.until = t + random.uniform(5, 40) / speed
            return
        if self.via == "direct":
            self.ensure_running(m)
        if random.random() < SCRAP:
            m.scrap += 1
        else:
            m.good += 1
        self.emit(m, "count", {"good": m.good, "scrap": m.scrap})
        m.until = t + m.cycle * random.uniform(0.9, 1.3) / speed

    def ensure_running(self, m: Machine) -> None:
        """Direct mode plays the operator too: start the next queued operation of an idle workstation."""
        ws = m.workstation
        if ws.operations.filter(
            status=OperationStatus.RUNNING, work_order__status__in=["released", "in_progress"]
        ).exists():
            return
        for op in workstation_queue(ws)[:3]:
            try:
                if op.status == OperationStatus.PAUSED:
                    services.operation_resume(
                        operation_id=op.pk, workstation=ws, user=self.user, key=uuid.uuid4()
                    )
                else:
                    services.operation_start(
                        operation_id=op.pk, workstation=ws, user=self.user, key=uuid.uuid4()
                    )
                m.cycle = float(op.ideal_cycle_seconds)
                return
            except MesError:
                continue

    def emit(self, m: Machine, metric: str, payload: dict) -> None:
        m.seq += 1
        payload = {"id": f"sim-{m.seq}-{uuid.uuid4().hex[:6]}", **payload}
        if self.client is not None:
            self.client.publish(f"{m.topic}/{metric}", json.dumps(payload), qos=1)
            return
        ws = m.workstation
        if metric == "state":
            machine_state_record(
                workstation=ws,
                state=payload["state"],
                message_id=payload["id"],
                user=self.user,
                reason=payload.get("reason", ""),
            )
        elif metric == "count":
            sample = CountSample(payload["id"], Decimal(payload["good"]), Decimal(payload["scrap"]))
            machine_counts_record(workstation=ws, samples=[sample], user=self.user)
        elif payload.get("active"):
            andon_raise(
                workstation=ws,
                user=self.user,
                kind=payload["kind"],
                key=machine_key(ws, "alarm", payload["id"]),
                note=payload.get("text", ""),
                source="machine",
            )
        else:
            andon_resolve_machine(workstation=ws, kind=payload["kind"], user=self.user)


def start_in_server(*, speed: float = 1.0, stop: threading.Event | None = None) -> threading.Thread:
    """Run the simulator on a daemon thread of this (the embedded demo server's) process.

    A failure is logged and ends the simulation, never the server."""

    def run() -> None:
        try:
            LineSimulator(speed=speed).run(stop or threading.Event())
        except Exception:
            logger.exception("the line simulator stopped")
        finally:
            close_old_connections()

    thread = threading.Thread(target=run, name="line-simulator", daemon=True)
    thread.start()
    return thread


def _reachable(url: str) -> bool:
    try:
        host, port, _, _ = broker_address(url)
        socket.create_connection((host, port), timeout=1).close()
        return True
    except (OSError, ValueError):
        return False
