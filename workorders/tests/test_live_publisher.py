"""Deltas from a process outside the web server that runs the line publishers on a thread of its
own (the MQTT ingestor): on channels_redis, as in production."""

import asyncio
import json
import os
import threading
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer

from mes import roles
from workorders import services
from workorders.live import broadcast
from workorders.live.models import LineStatus
from workorders.tests.factories import key, reasons, released_order

REDIS_URL = os.environ.get("REDIS_URL", "")
pytestmark = [
    pytest.mark.skipif(not REDIS_URL, reason="channels_redis runs in the PostgreSQL + Redis pass"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def line_channel(settings, workstation):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"test-{uuid.uuid4().hex[:8]}", "expiry": 30},
        }
    }
    channel_layers.backends = {}
    layer = get_channel_layer()
    name = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(broadcast.line_group(workstation.line_id), name)

    async def deltas_carrying(count: int) -> list[dict]:
        """Deltas, in arrival order, until they carry `count` events (one loop for all reads)."""
        deltas = []
        while sum(len(d["events"]) for d in deltas) < count:
            deltas.append(json.loads((await asyncio.wait_for(layer.receive(name), 10))["text"]))
        return deltas

    yield async_to_sync(deltas_carrying)
    channel_layers.backends = {}


@pytest.fixture
def publisher_thread():
    broadcast.start_publisher_thread()
    yield
    broadcast.stop_publisher_thread()


def test_commits_do_not_wait_for_their_delta_and_what_waits_together_leaves_as_one(
    make_user, workstation, line_channel, publisher_thread
):
    reasons()
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    operator = make_user(roles.OPERATOR, username="olga")
    order = released_order(user=supervisor, workstations=[workstation], quantity=100)
    assert [e["kind"] for e in line_channel(1)[0]["events"]] == ["order_status"]  # the release
    op = order.operations.get()

    gate = threading.Event()  # holds the publishers' loop, as a slow network would
    broadcast._server_loop.call_soon_threadsafe(gate.wait, 10)
    services.operation_start(operation_id=op.pk, workstation=workstation, user=operator, key=key())
    for _ in range(10):
        services.operation_record_good(
            operation_id=op.pk, workstation=workstation, user=operator, quantity=1, key=key()
        )
    assert LineStatus.objects.get(pk=workstation.line_id).sequence == 1  # committed, no delta yet
    gate.set()

    (delta,) = line_channel(12)
    assert delta["seq"] == 2
    assert [e["kind"] for e in delta["events"]] == ["start", "order_status", *["good"] * 10]
    assert delta["event"] == delta["events"][-1]
    assert delta["line"]["good"] == "10"
    assert [w["id"] for w in delta["line"]["workstations"]] == [workstation.pk]


def test_stopping_the_thread_sends_what_it_holds_first(make_user, workstation, line_channel):
    reasons()
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    operator = make_user(roles.OPERATOR, username="olga")
    order = released_order(user=supervisor, workstations=[workstation], quantity=100)
    op = order.operations.get()
    broadcast.start_publisher_thread()
    gate = threading.Event()
    broadcast._server_loop.call_soon_threadsafe(gate.wait, 10)
    services.operation_start(operation_id=op.pk, workstation=workstation, user=operator, key=key())
    threading.Timer(0.5, gate.set).start()  # the loop is still busy when the process stops

    broadcast.stop_publisher_thread()

    deltas = line_channel(3)  # the release (sent at commit), then what the thread held
    assert [e["kind"] for d in deltas for e in d["events"]] == ["order_status", "start", "order_status"]


def test_stopping_the_thread_brings_back_a_delta_at_each_commit(make_user, workstation, line_channel):
    broadcast.start_publisher_thread()
    broadcast.stop_publisher_thread()
    reasons()
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    operator = make_user(roles.OPERATOR, username="olga")
    order = released_order(user=supervisor, workstations=[workstation], quantity=100)
    op = order.operations.get()
    services.operation_start(operation_id=op.pk, workstation=workstation, user=operator, key=key())
    deltas = line_channel(3)
    assert [[e["kind"] for e in d["events"]] for d in deltas] == [
        ["order_status"],
        ["start"],
        ["order_status"],
    ]
