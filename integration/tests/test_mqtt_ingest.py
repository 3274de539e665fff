"""MQTT ingestion against a real Mosquitto started by the test (its own port, stopped and
restarted here), with the ingestor's worker writing through the production services."""

import json
import shutil
import subprocess
import time
from decimal import Decimal

import paho.mqtt.client as mqtt
import pytest

from integration.mqtt.ingestor import Ingestor
from integration.mqtt.payloads import BadMessage, parse_payload, parse_topic
from mes import roles
from mes.tests.servers import ARTIFACTS, accepts, free_port, wait_until
from workorders.live.models import AndonCall, MachineCounter, WorkstationStatus
from workorders.models import Downtime, ProductionEvent
from workorders.states import EventKind
from workorders.tests.factories import key, reasons, released_order

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class Broker:
    """A Mosquitto of our own on a free loopback port, to stop and start at will."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.conf = tmp_path / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.process = None

    def start(self):
        ARTIFACTS.mkdir(exist_ok=True)
        log = open(ARTIFACTS / "mosquitto-test.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
        )
        wait_until(accepts(self.port), 10, "mosquitto did not start")
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    @property
    def url(self):
        return f"mqtt://127.0.0.1:{self.port}"


@pytest.fixture
def broker(tmp_path):
    if not shutil.which("mosquitto") and not __import__("os").path.exists(MOSQUITTO):  # pragma: no cover
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    b = Broker(tmp_path).start()
    yield b
    b.stop()


@pytest.fixture
def ingestor(broker):
    ing = Ingestor(broker.url, client_id=f"test-ingest-{broker.port}", batch_wait=0.02).start()
    assert ing.connected.wait(10)
    yield ing
    ing.stop()


class Publisher:
    def __init__(self, broker):
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{time.monotonic_ns()}"
        )
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()

    def send(self, topic, payload, qos=1):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.client.publish(topic, body, qos=qos).wait_for_publish(10)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(broker):
    p = Publisher(broker)
    yield p
    p.close()


@pytest.fixture
def line(make_user, workstation):
    reasons()
    from workorders.demo.live import seed_machine_reasons

    seed_machine_reasons(lambda _: None)
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    order = released_order(user=supervisor, workstations=[workstation], quantity=100000)
    from workorders import services

    op = order.operations.get()
    services.operation_start(operation_id=op.pk, workstation=workstation, user=supervisor, key=key())
    ws = workstation
    return {"ws": ws, "op": op, "topic": f"mes/{ws.line.site.code}/{ws.line.code}/{ws.code}"}


def wait_for(condition, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def good(op):
    return sum(
        (e.quantity for e in ProductionEvent.objects.filter(operation=op, kind=EventKind.GOOD)),
        Decimal(0),
    )


def test_topics_and_payloads_are_validated():
    assert parse_topic("mes/P1/L1/WS1/count").workstation == "WS1"
    for topic in ["mes/P1/L1/count", "x/P1/L1/WS1/count", "mes/P1/L1/WS1/temperature", "mes/P1//WS1/state"]:
        with pytest.raises(BadMessage):
            parse_topic(topic)
    for metric, payload in [
        ("count", b"{not json"),
        ("count", b"[1, 2]"),
        ("count", b'{"good": 5}'),
        ("count", b'{"id": "a", "good": -1}'),
        ("count", b'{"id": "a", "good": "many"}'),
        ("count", b'{"id": "a"}'),
        ("state", b'{"id": "a", "state": "exploded"}'),
        ("alarm", b'{"id": "a", "kind": "coffee"}'),
        ("count", b"x" * 5000),
    ]:
        with pytest.raises(BadMessage):
            parse_payload(metric, payload)
    assert parse_payload("count", b'{"seq": 7, "good": 12}').id == "7"


def test_counts_become_completions_once_and_a_reset_is_recorded(line, ingestor, publisher):
    topic = line["topic"] + "/count"
    publisher.send(topic, {"id": "c1", "good": 100})
    publisher.send(topic, {"id": "c2", "good": 105, "scrap": 1})
    publisher.send(topic, {"id": "c2", "good": 105, "scrap": 1})  # redelivered
    publisher.send(topic, {"id": "c3", "good": 110, "scrap": 1})
    assert wait_for(lambda: good(line["op"]) == 110), good(line["op"])
    publisher.send(topic, {"id": "c1", "good": 100})  # an old one, late: counts nothing, no reset
    publisher.send(topic, {"id": "c4", "good": 3, "scrap": 1})  # the machine restarted: counter reset
    assert wait_for(lambda: good(line["op"]) == 113), good(line["op"])
    counter = MachineCounter.objects.get(pk=line["ws"].pk)
    assert counter.resets == 1 and counter.good_total == 3
    assert wait_for(lambda: ingestor.stats["duplicates"] == 2), ingestor.stats
    assert ingestor.stats["counter_resets"] == 1
    scrap = ProductionEvent.objects.filter(operation=line["op"], kind=EventKind.SCRAP)
    assert sum(e.quantity for e in scrap) == 2


def test_states_open_and_close_downtime_and_alarms_raise_andon(line, ingestor, publisher):
    ws = line["ws"]
    publisher.send(line["topic"] + "/state", {"id": "s1", "state": "down", "reason": "JAM"})
    assert wait_for(lambda: Downtime.objects.filter(workstation=ws, ended_at__isnull=True).exists())
    assert WorkstationStatus.objects.get(pk=ws.pk).state == "down"
    publisher.send(line["topic"] + "/state", {"id": "s2", "state": "offline"})
    assert wait_for(lambda: WorkstationStatus.objects.get(pk=ws.pk).state == "offline")
    publisher.send(line["topic"] + "/state", {"id": "s3", "state": "running"})
    assert wait_for(lambda: not Downtime.objects.filter(workstation=ws, ended_at__isnull=True).exists())
    publisher.send(line["topic"] + "/alarm", {"id": "a1", "kind": "maintenance", "text": "Spindle hot"})
    publisher.send(line["topic"] + "/alarm", {"id": "a1", "kind": "maintenance", "text": "Spindle hot"})
    assert wait_for(lambda: AndonCall.objects.filter(workstation=ws, source="machine").exists())
    publisher.send(line["topic"] + "/alarm", {"id": "a2", "kind": "maintenance", "active": False})
    assert wait_for(lambda: AndonCall.objects.filter(workstation=ws, status="resolved").exists())
    assert AndonCall.objects.count() == 1


def test_malformed_payloads_and_unknown_workstations_are_counted_not_fatal(line, ingestor, publisher):
    publisher.send(line["topic"] + "/count", b"{broken")
    publisher.send(line["topic"] + "/state", {"id": "x", "state": "melting"})
    publisher.send("mes/NOPE/L/WS/count", {"id": "u1", "good": 5})
    publisher.send("mes/too/short", {"id": "u2"})
    publisher.send(line["topic"] + "/count", {"id": "ok1", "good": 7})
    assert wait_for(lambda: good(line["op"]) == 7)
    assert wait_for(lambda: ingestor.stats["counts_applied"] == 1)
    assert ingestor.stats["malformed"] == 2
    assert ingestor.stats["unknown_workstation"] == 1
    assert ingestor._worker.is_alive()


def test_the_ingestor_reconnects_when_the_broker_restarts(line, broker, ingestor):
    pub = Publisher(broker)
    pub.send(line["topic"] + "/count", {"id": "r1", "good": 10})
    assert wait_for(lambda: good(line["op"]) == 10)
    pub.close()
    broker.stop()
    assert wait_for(lambda: not ingestor.connected.is_set(), timeout=20)
    broker.start()
    assert wait_for(ingestor.connected.is_set, timeout=30), ingestor.stats
    pub = Publisher(broker)
    pub.send(line["topic"] + "/count", {"id": "r2", "good": 25})
    assert wait_for(lambda: good(line["op"]) == 25), good(line["op"])
    pub.close()
    assert ingestor.stats["connects"] >= 2


def test_the_ingest_command_records_counts_across_a_broker_restart_and_stops_cleanly(line, broker, tmp_path):
    """`manage.py ingest_mqtt` itself, as a process of its own on the test database: it records a
    machine's counts, takes up again after the broker restarts, and ends cleanly on SIGTERM."""
    import os
    import re
    import signal
    import sys

    from django.conf import settings

    from mes.tests.servers import BASE_DIR, test_database_url

    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "MQTT_URL": broker.url,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "test-secret"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REDIS_PREFIX": settings.REDIS_PREFIX,
    }
    log_path = tmp_path / "ingest.log"
    with open(log_path, "wb") as log:
        command = subprocess.Popen(
            [sys.executable, "manage.py", "ingest_mqtt", "--stats-every", "0.5"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    output = log_path.read_text

    def counted_after_sending(message: dict, expected: int) -> bool:
        # Sent again until it is counted: the command subscribes a moment after it starts (and
        # after the broker comes back), and the same message id must count once however often.
        pub = Publisher(broker)
        try:
            return wait_for(
                lambda: pub.send(line["topic"] + "/count", message) or good(line["op"]) == expected,
                timeout=30,
            )
        finally:
            pub.close()

    try:
        assert counted_after_sending({"id": "cmd-1", "good": 7}, 7), output()
        broker.stop()
        broker.start()
        assert counted_after_sending({"id": "cmd-2", "good": 12}, 12), output()
        assert wait_for(lambda: max(map(int, re.findall(r"'connects': (\d+)", output())), default=0) >= 2), (
            output()
        )
        command.send_signal(signal.SIGTERM)
        assert command.wait(15) == 0, output()
    finally:
        if command.poll() is None:
            command.kill()
    assert good(line["op"]) == 12  # 7, then 5 more: every resend of a message id counted once
    assert "stopped; stats" in output()
