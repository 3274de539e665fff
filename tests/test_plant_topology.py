"""`make plant`: the Procfile's processes (web, Celery worker and beat, MQTT ingestor) under honcho
on PostgreSQL, Redis and Mosquitto. A completion through the API reaches the ERP, a dashboard and
/metrics; SIGTERM stops every process within 10 s and leaves no message half-sent."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
import websockets
from django.conf import settings
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.authtoken.models import Token

from integration.models import OutboxMessage
from integration.states import MessageStatus
from integration.tests.support import FakeErpProcess
from mes import roles
from mes.tests.servers import ARTIFACTS, ServerProcess, answers, free_port, test_database_url, wait_until
from workorders.tests.factories import reasons, released_order

pytestmark = [pytest.mark.postgres, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BROKER_DB = 7  # a Redis database of its own for this test's Celery broker


def metric(url: str, name: str, **labels) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


@pytest.fixture
def plant(request, django_db_blocker, tmp_path):
    if not os.environ.get("REDIS_URL"):
        pytest.skip("the plant topology needs Redis: REDIS_URL is unset (the SQLite pass)")
    redis.Redis(host="127.0.0.1", port=6379, db=BROKER_DB).flushdb()
    erp = FakeErpProcess(log_name="fake-erp-plant").start()
    request.addfinalizer(erp.stop)
    with django_db_blocker.unblock():
        database = test_database_url()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DATABASE_URL=database,
        REDIS_PREFIX=settings.REDIS_PREFIX,  # the same instance as this test's process
        CELERY_BROKER_URL=f"redis://127.0.0.1:6379/{BROKER_DB}",
        ERP_URL=erp.url,
        SECRET_KEY=os.environ.get("SECRET_KEY", "plant-test"),
        PORT=str(port),
        HOST="127.0.0.1",
        WEB_WORKERS="2",
        WORKER_CONCURRENCY="1",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        VAR_DIR=str(tmp_path),
        LOG_FORMAT="json",
    )
    server = ServerProcess(
        ["make", "--no-print-directory", "plant"],
        env=env,
        log_path=ARTIFACTS / "plant.log",
        ready=answers(f"http://127.0.0.1:{port}/healthz"),
        timeout=180,
        name="make plant",
    ).start()
    request.addfinalizer(server.stop)
    server.url = f"http://127.0.0.1:{port}"
    server.erp = erp
    return server


def test_the_plant_records_a_completion_end_to_end_and_stops_within_10_s(plant, make_user, workstation):
    reasons()
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    operator = make_user(roles.OPERATOR, username="olga")
    order = released_order(user=supervisor, workstations=[workstation], quantity=10)
    operation = order.operations.get()
    token = Token.objects.create(user=operator).key
    browser = Client()
    browser.force_login(supervisor)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"

    def tap(kind: str, **extra) -> None:
        body = {
            "kind": kind,
            "operation": operation.pk,
            "workstation": workstation.pk,
            "idempotency_key": str(uuid.uuid4()),
        }
        response = httpx.post(
            f"{plant.url}/api/v1/events/",
            json={**body, **extra},
            headers={"Authorization": f"Token {token}"},
            timeout=10,
        )
        assert response.status_code in (200, 201), response.text

    async def dashboard_sees_the_completion() -> dict:
        async with websockets.connect(
            f"ws://127.0.0.1:{plant.url.rsplit(':', 1)[1]}/ws/live/lines/{workstation.line_id}/",
            additional_headers={"Cookie": cookie, "Origin": plant.url},
        ) as ws:
            snapshot = json.loads(await asyncio.wait_for(ws.recv(), 15))
            assert snapshot["type"] == "snapshot"
            assert metric(plant.url, "mes_live_dashboards_connected") >= 1
            await asyncio.to_thread(tap, "start")
            await asyncio.to_thread(tap, "good", quantity=3)
            while True:
                delta = json.loads(await asyncio.wait_for(ws.recv(), 15))
                if any(event.get("kind") == "good" for event in delta.get("events", [])):
                    return delta

    with ThreadPoolExecutor(max_workers=1) as pool:  # its own thread and loop
        pool.submit(asyncio.run, dashboard_sees_the_completion()).result(timeout=120)

    completion = wait_until(
        lambda: OutboxMessage.objects.filter(
            message_type="completion", status=MessageStatus.ACKNOWLEDGED
        ).first(),
        30,
        "the worker did not deliver the completion to the ERP",
    )
    assert plant.erp.stats()["unique"] >= 1
    assert completion.erp_reference
    assert metric(plant.url, "mes_production_events_total", kind="good") == 1
    assert metric(plant.url, "mes_production_events_total", kind="start") == 1
    wait_until(lambda: metric(plant.url, "mes_erp_delivery_attempts_total", outcome="acknowledged") >= 1, 15)
    assert metric(plant.url, "mes_erp_outbox_dead_letters") == 0

    started = time.monotonic()
    plant.signal(signal.SIGTERM)
    plant.process.wait(15)

    def group_gone() -> bool:
        try:
            os.killpg(plant.pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_until(group_gone, 15, "a process of the plant outlived SIGTERM")
    stopped_in = time.monotonic() - started
    assert stopped_in <= 10, f"the plant took {stopped_in:.1f} s to stop"
    statuses = set(OutboxMessage.objects.values_list("status", flat=True))
    assert statuses <= {MessageStatus.ACKNOWLEDGED, MessageStatus.PENDING}, statuses
