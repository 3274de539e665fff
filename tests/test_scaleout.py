"""Scale-out: two ASGI server processes share channels_redis; an event committed through one
reaches a dashboard connected to the other."""

import asyncio
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import websockets
from django.conf import settings
from django.test import Client
from rest_framework.authtoken.models import Token

from mes import roles
from mes.tests.servers import Uvicorn
from mes.tests.servers import test_database_url as database_url
from workorders.tests.factories import reasons, released_order

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def two_servers(django_db_blocker):
    if not os.environ.get("REDIS_URL"):
        pytest.skip("scale-out needs channels_redis: REDIS_URL is unset (the SQLite pass)")
    with django_db_blocker.unblock():
        url = database_url()
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": os.environ.get("SECRET_KEY", "e2e-secret"),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "REDIS_PREFIX": settings.REDIS_PREFIX,  # one instance with this process: its groups
        }
    )
    servers = [Uvicorn(env, f"scaleout-{i}").start() for i in (1, 2)]
    yield servers
    for server in servers:
        server.stop()


def test_an_event_through_one_process_reaches_a_client_of_the_other(two_servers, make_user, workstation):
    a, b = two_servers
    reasons()
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    order = released_order(user=supervisor, workstations=[workstation], quantity=10)
    op = order.operations.get()
    client = Client()
    client.force_login(supervisor)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    token = Token.objects.create(user=supervisor).key

    async def scenario():
        port_b = b.url.rsplit(":", 1)[1]
        async with websockets.connect(
            f"ws://127.0.0.1:{port_b}/ws/live/lines/{workstation.line_id}/",
            additional_headers={"Cookie": cookie, "Origin": b.url},
        ) as ws:
            snapshot = json.loads(await asyncio.wait_for(ws.recv(), 15))
            assert snapshot["type"] == "snapshot"
            seq = snapshot["lines"][0]["seq"]
            # The tap goes through process A's HTTP API.
            async with httpx.AsyncClient(base_url=a.url, headers={"Authorization": f"Token {token}"}) as http:
                response = await http.post(
                    "/api/v1/events/",
                    json={
                        "kind": "start",
                        "operation": op.pk,
                        "workstation": workstation.pk,
                        "idempotency_key": str(uuid.uuid4()),
                    },
                )
                assert response.status_code in (200, 201), response.text
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 15))
                # The start and the order's move to in progress may come as one delta.
                if message["type"] == "delta" and "start" in [e["kind"] for e in message["events"]]:
                    assert message["seq"] > seq
                    assert message["line"]["state"] == "running"
                    return

    # Its own thread and loop, whatever this thread runs.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, scenario()).result(timeout=120)
