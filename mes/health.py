"""Health of the parts the MES stands on: the database, the channel layer and the task broker."""

from __future__ import annotations

import asyncio
import uuid

from asgiref.sync import async_to_sync
from celery import current_app
from channels.layers import InMemoryChannelLayer, get_channel_layer
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


async def _round_trip(layer) -> None:
    # Over publish/subscribe a message reaches only a channel subscribed when it is sent: a
    # channel of the probe's own (`new_channel` subscribes it), before the send.
    channel = await layer.new_channel("healthz.")
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
