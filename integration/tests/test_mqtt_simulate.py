"""The line simulator in embedded mode feeds the production services in-process."""

import json

import pytest
from django.core.management import call_command

from mes import roles
from workorders.demo.live import seed_machine_reasons
from workorders.live.models import LineStatus, MachineCounter
from workorders.models import ProductionEvent
from workorders.states import EventKind
from workorders.tests.factories import reasons, released_order

pytestmark = pytest.mark.django_db


def test_simulator_without_a_broker_moves_the_line(
    make_user, workstation, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.delenv("MQTT_URL", raising=False)
    reasons()
    seed_machine_reasons(lambda _: None)
    released_order(
        user=make_user(roles.SUPERVISOR, username="sam"), workstations=[workstation], quantity=10000
    )
    with django_capture_on_commit_callbacks(execute=True):  # the dashboards' deltas follow commits
        call_command(
            "simulate_line", via="auto", site=workstation.line.site.code, speed=200, seconds=3, seed=7
        )
    assert ProductionEvent.objects.filter(workstation=workstation, kind=EventKind.START).exists()
    assert ProductionEvent.objects.filter(workstation=workstation, kind=EventKind.GOOD).exists()
    assert MachineCounter.objects.get(pk=workstation.pk).good_total > 0
    assert LineStatus.objects.get(pk=workstation.line_id).sequence > 2


@pytest.mark.django_db(transaction=True)
def test_run_by_the_server_its_counts_reach_the_dashboards_as_deltas(
    make_user, workstation, monkeypatch, settings
):
    """The embedded demo server runs the simulator on a thread: its commits' deltas leave from
    the server's loop, on the server's channel layer (in-memory in embedded mode)."""
    import asyncio
    import threading

    from channels.layers import get_channel_layer

    from integration.mqtt.simulator import start_in_server
    from workorders.live import broadcast

    monkeypatch.delenv("MQTT_URL", raising=False)
    settings.MES_DEFAULT_SITE = workstation.line.site.code
    reasons()
    seed_machine_reasons(lambda _: None)
    released_order(
        user=make_user(roles.SUPERVISOR, username="sam"), workstations=[workstation], quantity=10000
    )

    async def deltas_until_a_count() -> list[dict]:
        loop = asyncio.get_running_loop()
        broadcast.use_server_loop(loop)  # as config.asgi does on the server's first call
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(broadcast.line_group(workstation.line_id), channel)
        stop = threading.Event()
        simulator = start_in_server(speed=200, stop=stop)
        deltas: list[dict] = []
        try:
            deadline = loop.time() + 20
            while not any(e["kind"] == "good" for d in deltas for e in d["events"]):
                message = await asyncio.wait_for(layer.receive(channel), deadline - loop.time())
                deltas.append(json.loads(message["text"]))
        finally:
            stop.set()
            await asyncio.to_thread(simulator.join, 10)
            await broadcast._publisher.finish(5)
            broadcast.use_server_loop(None)
        return deltas

    deltas = asyncio.run(deltas_until_a_count())
    counted = [e for d in deltas for e in d["events"] if e["kind"] == "good"]
    assert counted and counted[0]["workstation"] == workstation.code
    assert ProductionEvent.objects.filter(pk=counted[0]["id"], workstation=workstation).exists()
    sequences = [d["seq"] for d in deltas]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
