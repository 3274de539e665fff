"""The dashboards' websocket consumers, on the in-memory layer and on channels_redis."""

import asyncio
import json
import os
import time
import uuid

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client

from mes import roles
from mes.tests.factories import SiteFactory, WorkstationFactory
from workorders import services
from workorders.consumers import websocket_urlpatterns
from workorders.tests.factories import key, reasons, released_order

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]
TIMEOUT = 10


@pytest.fixture(params=["memory", "redis"])
def layer(request, settings):
    if request.param == "redis":
        url = os.environ.get("REDIS_URL", "")
        if not url:
            pytest.skip("channels_redis runs in the PostgreSQL + Redis pass (REDIS_URL set)")
        # The project's own channel layer settings (its connection options are what is under
        # test), under a prefix of this test's own.
        from config.settings import redis_channel_layer

        settings.CHANNEL_LAYERS = {"default": redis_channel_layer(url, prefix=f"test-{uuid.uuid4().hex[:8]}")}
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends = {}
    yield request.param
    channel_layers.backends = {}


@pytest.fixture
def plant(db, make_user, workstation):
    reasons()
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    operator = make_user(roles.OPERATOR, username="olga")
    order = released_order(user=supervisor, workstations=[workstation], quantity=10)
    return {"supervisor": supervisor, "operator": operator, "order": order, "workstation": workstation}


def communicator(path, user):
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    comm.scope["user"] = user
    return comm


async def receive(comm, kind):
    """The next message of `kind`, skipping others (heartbeats)."""
    while True:
        message = json.loads(await comm.receive_from(timeout=TIMEOUT))
        if message["type"] == kind:
            return message


async def deltas_carrying(comm, count: int) -> list[dict]:
    """Deltas, in arrival order, until they carry `count` events."""
    deltas = []
    while sum(len(d["events"]) for d in deltas) < count:
        deltas.append(await receive(comm, "delta"))
    return deltas


def start_and_count(plant, quantities: list[int]) -> None:
    ws, operator = plant["workstation"], plant["operator"]
    op = plant["order"].operations.get()
    services.operation_start(operation_id=op.pk, workstation=ws, user=operator, key=key())
    for quantity in quantities:
        services.operation_record_good(
            operation_id=op.pk, workstation=ws, user=operator, quantity=quantity, key=key()
        )


async def test_snapshot_then_a_delta_after_each_committed_event(layer, plant):
    ws = plant["workstation"]
    comm = communicator(f"/ws/live/sites/{ws.line.site_id}/", plant["supervisor"])
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    snapshot = await receive(comm, "snapshot")
    line = next(x for x in snapshot["lines"] if x["id"] == ws.line_id)
    seq = line["seq"]

    await database_sync_to_async(start_and_count)(plant, [3])
    # start, the order's move to in progress, the count: in sequence, one delta each unless a
    # publisher gathered some into one (numbers still consecutive, every event carried once).
    deltas = await deltas_carrying(comm, 3)
    assert [d["seq"] for d in deltas] == list(range(seq + 1, seq + 1 + len(deltas)))
    assert [e["kind"] for d in deltas for e in d["events"]] == ["start", "order_status", "good"]
    last = deltas[-1]
    assert last["line"]["state"] == "running" and last["line"]["good"] == "3"
    assert last["line"]["workstations"][0]["code"] == ws.code
    await comm.disconnect()


async def test_a_line_of_another_site_is_closed_with_a_reason(layer, plant):
    other = await database_sync_to_async(lambda: WorkstationFactory(line__site=SiteFactory(code="PLANT9")))()
    comm = communicator(f"/ws/live/lines/{other.line_id}/", plant["supervisor"])
    await comm.connect(timeout=TIMEOUT)
    denied = await receive(comm, "denied")
    assert denied["code"] == 4403
    closed = await comm.receive_output(timeout=TIMEOUT)
    assert closed == {"type": "websocket.close", "code": 4403, "reason": "You may not see this line."}


async def test_an_operator_without_the_dashboard_permission_is_refused(layer, plant):
    comm = communicator(f"/ws/live/lines/{plant['workstation'].line_id}/", plant["operator"])
    await comm.connect(timeout=TIMEOUT)
    assert (await receive(comm, "denied"))["code"] == 4403


async def test_an_anonymous_client_is_closed_4401(layer, plant):
    from django.contrib.auth.models import AnonymousUser

    comm = communicator(f"/ws/live/lines/{plant['workstation'].line_id}/", AnonymousUser())
    await comm.connect(timeout=TIMEOUT)
    assert (await receive(comm, "denied"))["code"] == 4401


async def test_unknown_line_is_closed_4404(layer, plant):
    comm = communicator("/ws/live/lines/999999/", plant["supervisor"])
    await comm.connect(timeout=TIMEOUT)
    assert (await receive(comm, "denied"))["code"] == 4404


async def test_unexpected_messages_are_ignored_and_counted_then_closed(layer, plant):
    comm = communicator(f"/ws/live/lines/{plant['workstation'].line_id}/", plant["supervisor"])
    await comm.connect(timeout=TIMEOUT)
    await receive(comm, "snapshot")
    await comm.send_to(text_data="not json")
    assert (await receive(comm, "error"))["ignored"] == 1
    await comm.send_to(bytes_data=b"\x00\x01")
    await comm.send_to(text_data=json.dumps({"type": "subscribe", "line": 1}))
    assert (await receive(comm, "error"))["ignored"] == 2
    await comm.send_to(text_data=json.dumps({"type": "ping"}))
    await receive(comm, "pong")
    await comm.send_to(text_data=json.dumps({"type": "snapshot"}))
    assert (await receive(comm, "snapshot"))["scope"] == "line"
    for _ in range(17):
        await comm.send_to(text_data="[]")
    assert (await receive(comm, "denied"))["code"] == 4400


async def test_heartbeat_carries_the_sequence_numbers(layer, plant, settings):
    settings.LIVE_HEARTBEAT_SECONDS = 0.2
    ws = plant["workstation"]
    comm = communicator(f"/ws/live/lines/{ws.line_id}/", plant["supervisor"])
    await comm.connect(timeout=TIMEOUT)
    snapshot = await receive(comm, "snapshot")
    beat = await receive(comm, "heartbeat")
    assert beat["seqs"].get(str(ws.line_id), 0) == snapshot["lines"][0]["seq"]
    await comm.disconnect()


async def test_the_session_authenticates_through_the_asgi_application(layer, plant):
    from config.asgi import application

    client = Client()
    await database_sync_to_async(client.force_login)(plant["supervisor"])
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    comm = WebsocketCommunicator(
        application,
        f"/ws/live/lines/{plant['workstation'].line_id}/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", cookie)],
    )
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    assert (await receive(comm, "snapshot"))["lines"][0]["id"] == plant["workstation"].line_id
    await comm.disconnect()
    await asyncio.sleep(0)


async def test_an_idle_dashboard_outlives_the_redis_socket_timeout(layer, plant, settings):
    """redis-py 8 times a socket out after 5 s by default. On channels_redis' list-based layer,
    which blocks 5 s in each receive, every idle consumer died with TimeoutError; an idle
    dashboard must stay connected well past that and get the next delta."""
    settings.LIVE_HEARTBEAT_SECONDS = 60  # nothing but the wait itself between snapshot and delta
    ws = plant["workstation"]
    comm = communicator(f"/ws/live/lines/{ws.line_id}/", plant["supervisor"])
    assert (await comm.connect(timeout=TIMEOUT))[0]
    await receive(comm, "snapshot")
    await asyncio.sleep(12)  # well past redis-py's default socket timeout
    assert await comm.receive_nothing(timeout=0.1)  # neither closed nor crashed meanwhile
    await database_sync_to_async(start_and_count)(plant, [2])
    events = [e["kind"] for d in await deltas_carrying(comm, 3) for e in d["events"]]
    assert events == ["start", "order_status", "good"]
    await comm.disconnect()


@pytest_asyncio.fixture
async def server_loop():
    """This test's event loop as the web server's: deltas go through the line publisher."""
    from workorders.live import broadcast

    broadcast.use_server_loop(asyncio.get_running_loop())
    yield broadcast
    await broadcast._publisher.finish(5)  # no line's task left behind on a loop about to close
    broadcast.use_server_loop(None)


async def line_dashboard(plant):
    """The supervisor's dashboard of the plant's line, connected; and the line's sequence number."""
    comm = communicator(f"/ws/live/lines/{plant['workstation'].line_id}/", plant["supervisor"])
    assert (await comm.connect(timeout=TIMEOUT))[0]
    return comm, (await receive(comm, "snapshot"))["lines"][0]["seq"]


def change(broadcast, workstation, kind: str, committed_at: float | None = None):
    """A committed change of `workstation` as the on-commit hook hands it to the publisher."""
    return broadcast.Change(
        workstation.line_id,
        None,
        [workstation.pk],
        {"kind": kind},
        None,
        False,
        None,
        committed_at or time.time(),
    )


async def test_in_the_server_a_busy_line_gets_every_event_once_in_order_in_consecutive_deltas(
    layer, plant, server_loop
):
    comm, seq = await line_dashboard(plant)

    await database_sync_to_async(start_and_count)(plant, [1] * 6)
    deltas = await deltas_carrying(comm, 8)
    assert [d["seq"] for d in deltas] == list(range(seq + 1, seq + 1 + len(deltas)))
    kinds = [e["kind"] for d in deltas for e in d["events"]]
    assert kinds == ["start", "order_status", *["good"] * 6]
    assert deltas[-1]["line"]["good"] == "6"
    assert all(d["event"] == d["events"][-1] for d in deltas)
    await comm.disconnect()


async def test_changes_waiting_together_leave_as_one_delta(layer, plant, server_loop):
    ws = plant["workstation"]
    comm, seq = await line_dashboard(plant)
    now = time.time()
    for n in (1, 2, 3):  # queued before the publisher gets to run
        server_loop._publisher.add(change(server_loop, ws, f"e{n}", now + n))
    delta = await receive(comm, "delta")
    assert delta["seq"] == seq + 1
    assert [e["kind"] for e in delta["events"]] == ["e1", "e2", "e3"]
    assert delta["committed_at"] == now + 1  # latency counts from the oldest change it carries
    assert [w["id"] for w in delta["line"]["workstations"]] == [ws.pk]
    await comm.disconnect()


async def test_a_lone_change_leaves_at_once_and_the_next_ones_within_the_interval_together(
    layer, plant, server_loop, settings
):
    settings.LIVE_DELTA_INTERVAL_SECONDS = 1.0
    ws = plant["workstation"]
    comm, seq = await line_dashboard(plant)

    sent = time.monotonic()
    server_loop._publisher.add(change(server_loop, ws, "first"))
    first = await receive(comm, "delta")
    assert [e["kind"] for e in first["events"]] == ["first"]
    assert time.monotonic() - sent < 0.5  # not held back by the interval
    server_loop._publisher.add(change(server_loop, ws, "second"))
    server_loop._publisher.add(change(server_loop, ws, "third"))
    then = await receive(comm, "delta")
    assert (then["seq"], [e["kind"] for e in then["events"]]) == (seq + 2, ["second", "third"])
    assert time.monotonic() - sent >= 1.0  # they waited for the line's interval
    await comm.disconnect()


async def test_a_delta_does_not_wait_for_the_database_thread(layer, plant, server_loop):
    ws = plant["workstation"]
    comm, seq = await line_dashboard(plant)
    # Another consumer's long query holds the one thread this process runs database work on.
    busy = asyncio.ensure_future(database_sync_to_async(time.sleep)(3))
    await asyncio.sleep(0.1)

    sent = time.monotonic()
    server_loop._publisher.add(change(server_loop, ws, "e"))
    delta = await receive(comm, "delta")

    assert delta["seq"] == seq + 1
    assert time.monotonic() - sent < 1.5 and not busy.done()
    await busy
    await comm.disconnect()


async def test_dashboards_beating_together_share_their_read_of_the_sequences(
    layer, plant, settings, monkeypatch
):
    import workorders.consumers as consumers

    reads = []
    real_line_sequences = consumers.line_sequences

    def counted_line_sequences(line_ids):
        reads.append(list(line_ids))
        return real_line_sequences(line_ids)

    monkeypatch.setattr(consumers, "line_sequences", counted_line_sequences)
    # First beats fall within a second of each other (plus the time the connections took), and a
    # read serves for half a second: a few reads at most, where each dashboard would make its own.
    settings.LIVE_HEARTBEAT_SECONDS = 2
    ws = plant["workstation"]
    comms = [communicator(f"/ws/live/lines/{ws.line_id}/", plant["supervisor"]) for _ in range(10)]
    for comm in comms:
        assert (await comm.connect(timeout=TIMEOUT))[0]
    seq = (await receive(comms[0], "snapshot"))["lines"][0]["seq"]

    beats = [await receive(comm, "heartbeat") for comm in comms]

    assert {beat["seqs"][str(ws.line_id)] for beat in beats} == {seq}
    assert 1 <= len(reads) <= 5, f"{len(reads)} reads for 10 heartbeats"
    # A read is reused only briefly: a change made after it shows in a later heartbeat.
    await database_sync_to_async(start_and_count)(plant, [])
    beat = await receive(comms[0], "heartbeat")
    while beat["seqs"][str(ws.line_id)] == seq:
        beat = await receive(comms[0], "heartbeat")
    assert beat["seqs"][str(ws.line_id)] > seq
    for comm in comms:
        await comm.disconnect()
