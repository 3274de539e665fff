"""Health of the parts the MES stands on: the database, the channel layer and the task broker."""

from __future__ import annotations

import asyncio
import uuid

from asgiref.sync import async_to_sync
from celery import current_app
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import create_pool
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

CHECK_TIMEOUT_SECONDS = 2.0


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def check_database() -> dict:
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        # A broken connection must not stay cached for the next request.
        connection.close_if_unusable_or_obsolete()
        return {"up": False, "backend": connection.vendor, "error": _error(exc)}
    return {"up": True, "backend": connection.vendor}


def _receive_outlasts_socket(layer) -> str | None:
    """Why an idle receive on this layer would be torn down, or None.

    channels_redis' list-based layer blocks up to `brpop_timeout` seconds in each receive; a Redis
    connection that gives up on its socket sooner (redis-py 8 does after 5 s unless told
    otherwise) drops every idle dashboard. A quick round trip can't show that, so the connection
    options are checked. (The layer the MES configures, over publish/subscribe, waits in short
    polls and has no such wait.)
    """
    if not isinstance(layer, RedisChannelLayer):
        return None
    wait = layer.brpop_timeout
    for host in layer.hosts:
        pool = create_pool(host)
        timeout = pool.connection_class(**pool.connection_kwargs).socket_timeout  # not connected
        if timeout is not None and timeout <= wait:
            return (
                f"the Redis socket timeout ({timeout} s) ends before the layer's blocking receive "
                f"({wait} s): idle dashboards would be disconnected"
            )
    return None


async def _round_trip(layer) -> None:
    if isinstance(layer, RedisPubSubChannelLayer):
        # Over publish/subscribe a message reaches only a channel subscribed when it is sent: a
        # channel of the probe's own, subscribed before the send.
        channel = await layer.new_channel("healthz.")
    else:
        # On a list-based layer, a channel of its own, not one of the process's (`new_channel`):
        # those share one receive loop with every websocket consumer of the process, and a probe
        # waiting in it behind a consumer's blocking receive missed its reply (a server
        # restarted under open dashboards stayed "down").
        channel = f"healthz.{uuid.uuid4().hex}"
    token = uuid.uuid4().hex
    await layer.send(channel, {"type": "healthz.ping", "token": token})
    message = await layer.receive(channel)
    if message.get("token") != token:
        raise RuntimeError("the channel layer returned another message")


def check_channel_layer() -> dict:
    try:
        layer = get_channel_layer()
    except Exception as exc:
        return {"up": False, "error": _error(exc)}
    if layer is None:
        return {"up": False, "error": "no channel layer is configured"}
    if isinstance(layer, InMemoryChannelLayer):
        return {"up": True, "mode": "in-process"}

    cannot_idle = _receive_outlasts_socket(layer)
    if cannot_idle:
        return {"up": False, "mode": type(layer).__name__, "error": cannot_idle}

    async def probe():
        await asyncio.wait_for(_round_trip(layer), CHECK_TIMEOUT_SECONDS)

    try:
        async_to_sync(probe)()
    except Exception as exc:
        return {"up": False, "mode": type(layer).__name__, "error": _error(exc) or "timed out"}
    return {"up": True, "mode": type(layer).__name__}


def check_task_broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"up": True, "mode": "in-process"}
    try:
        # The project's Celery app (the kernel does not import the project package that makes it).
        with current_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        return {"up": False, "mode": "broker", "error": _error(exc)}
    return {"up": True, "mode": "broker"}


def report() -> tuple[bool, dict]:
    parts = {
        "database": check_database(),
        "channel_layer": check_channel_layer(),
        "task_broker": check_task_broker(),
    }
    healthy = all(part["up"] for part in parts.values())
    down = [name for name, part in parts.items() if not part["up"]]
    return healthy, {"status": "ok" if healthy else "down", "down": down, "parts": parts}
