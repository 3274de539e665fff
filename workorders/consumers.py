"""Websocket consumers of the live dashboards: join the groups, forward deltas; no business logic.

    ws/live/sites/<site_id>/   every line of a site      (group site.<id>)
    ws/live/lines/<line_id>/   one line and its events   (group line.<id>)

On connect: authenticate by the session, authorise the site, join the group, send a snapshot
with each line's sequence number. Then: a `line.delta` after each committed change, and a
heartbeat every few seconds carrying the current sequence numbers (read from the database, so
a dashboard also catches up with changes whose delta never reached it, e.g. written by another
process on the in-memory layer of the embedded mode). Client messages: `{"type": "ping"}` and
`{"type": "snapshot"}`; anything else is answered with an error and counted, and a client that
keeps sending them is closed with 4400.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
import weakref

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _

from mes import metrics
from mes.models import Line, Site
from mes.selectors import sites_visible_to
from workorders.live.broadcast import line_group, site_group
from workorders.live.selectors import line_sequences, line_snapshot, site_snapshot

logger = logging.getLogger(__name__)

PERMISSION = "workorders.view_linestatus"
# Close codes (4000-4999 are the application's): the client shows the reason and stops retrying.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_BAD_MESSAGES = 4400
MAX_BAD_MESSAGES = 20
MAX_MESSAGE_BYTES = 4096


def heartbeat_seconds() -> float:
    # On the in-memory layer (embedded mode) writers in other processes send no deltas: the
    # heartbeat's sequence check is how dashboards see their changes, so it runs more often.
    default = 15.0 if "Redis" in settings.CHANNEL_LAYERS["default"]["BACKEND"] else 3.0
    configured = getattr(settings, "LIVE_HEARTBEAT_SECONDS", None) or os.environ.get("LIVE_HEARTBEAT_SECONDS")
    return float(configured or default)


class _SequenceReads:
    """The heartbeats of one process share their reads of the lines' sequence numbers.

    A query per heartbeat would put a hundred queries at once on the process's one database
    thread whenever a hundred dashboards beat together, and the deltas would queue behind them
    for a second or more. A heartbeat takes a read another made a moment ago (a quarter of the
    interval at most), and those that beat at the same time wait for one read together.
    """

    def __init__(self):
        self.read_at = 0.0
        self.values: dict[int, int] = {}
        self.lock = asyncio.Lock()

    async def get(self, line_ids: list[int], max_age: float) -> dict[int, int]:
        async with self.lock:
            fresh = time.monotonic() - self.read_at <= max_age
            if not (fresh and all(line_id in self.values for line_id in line_ids)):
                started = time.monotonic()
                wanted = sorted(set(line_ids) | (set(self.values) if fresh else set()))
                self.values = await database_sync_to_async(line_sequences)(wanted)
                self.read_at = started
            return {line_id: self.values[line_id] for line_id in line_ids if line_id in self.values}


_sequence_reads: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SequenceReads] = (
    weakref.WeakKeyDictionary()
)


def sequence_reads() -> _SequenceReads:
    """This event loop's shared reads (an asyncio lock belongs to one loop)."""
    loop = asyncio.get_running_loop()
    reads = _sequence_reads.get(loop)
    if reads is None:
        reads = _sequence_reads[loop] = _SequenceReads()
    return reads


class LiveConsumer(AsyncWebsocketConsumer):
    """Common to the site and line dashboards."""

    scope_name = ""

    async def connect(self) -> None:
        self.bad_messages = 0
        self.groups_joined: list[str] = []
        self.line_ids: list[int] = []
        self.sequences: dict[int, int] = {}
        self.heartbeat: asyncio.Task | None = None
        user = self.scope.get("user")
        await self.accept()  # accept first so the close code and reason reach the browser
        if user is None or not user.is_authenticated:
            await self.deny(CLOSE_UNAUTHENTICATED, _("Sign in to see the live dashboard."))
            return
        refusal = await self.authorise(user)
        if refusal is not None:
            await self.deny(*refusal)
            return
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.send_snapshot()
        self.heartbeat = asyncio.ensure_future(self.beat())
        self.counted = True
        metrics.DASHBOARDS_CONNECTED.inc()

    async def deny(self, code: int, reason: str) -> None:
        await self.send(text_data=json.dumps({"type": "denied", "code": code, "reason": reason}))
        await self.close(code=code, reason=reason)

    async def disconnect(self, code) -> None:
        if getattr(self, "counted", False):
            metrics.DASHBOARDS_CONNECTED.dec()
            self.counted = False
        if getattr(self, "heartbeat", None) is not None:
            self.heartbeat.cancel()
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def authorise(self, user) -> tuple[int, str] | None:  # pragma: no cover - overridden
        raise NotImplementedError

    async def snapshot(self) -> dict:  # pragma: no cover - overridden
        raise NotImplementedError

    async def send_snapshot(self) -> None:
        data = await self.snapshot()
        for line in data["lines"]:
            self.sequences[line["id"]] = line["seq"]
        await self.send(text_data=json.dumps(data))

    async def beat(self) -> None:
        interval = heartbeat_seconds()
        try:
            # The first beat comes after half to all of the interval, so dashboards that connected
            # together (a wall of screens after a restart) spread their beats over it.
            await asyncio.sleep(interval * random.uniform(0.5, 1.0))
            while True:
                seqs = await sequence_reads().get(self.line_ids, max_age=interval / 4)
                await self.send(
                    text_data=json.dumps(
                        {
                            "type": "heartbeat",
                            "at": timezone.now().isoformat(),
                            "seqs": {str(k): v for k, v in seqs.items()},
                        }
                    )
                )
                await asyncio.sleep(interval)
        except asyncio.CancelledError:
            pass
        except OSError:
            # The dashboard went away between two beats (uvicorn's ClientDisconnected is an
            # OSError): a closed tab, not an error worth a traceback on the console.
            pass
        except Exception:
            logger.exception("live heartbeat stopped")

    async def receive(self, text_data=None, bytes_data=None) -> None:
        message = None
        if text_data is not None and len(text_data) <= MAX_MESSAGE_BYTES:
            try:
                message = json.loads(text_data)
            except ValueError:
                message = None
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "ping":
            await self.send(text_data=json.dumps({"type": "pong", "at": timezone.now().isoformat()}))
        elif kind == "snapshot":
            await self.send_snapshot()
        else:
            self.bad_messages += 1
            logger.info("live consumer ignored an unexpected message (%s so far)", self.bad_messages)
            if self.bad_messages >= MAX_BAD_MESSAGES:
                await self.deny(CLOSE_BAD_MESSAGES, _("Too many unexpected messages."))
                return
            await self.send(
                text_data=json.dumps(
                    {"type": "error", "code": "unexpected_message", "ignored": self.bad_messages}
                )
            )

    async def dispatch(self, message: dict) -> None:
        # A delta carries its data and touches no database, so it skips the clean-up of old
        # database connections the base class runs before every handler: a hop through the
        # process's one database thread, where deltas would wait behind other consumers' queries.
        if message["type"] == "line.delta":
            await self.line_delta(message)
            return
        await super().dispatch(message)

    async def line_delta(self, event: dict) -> None:
        # The text was encoded once by the sender (`broadcast.group_message`), for every dashboard.
        line_id, sequence = event["line"], event["seq"]
        if line_id in self.sequences and sequence > self.sequences[line_id]:
            self.sequences[line_id] = sequence
        await self.send(text_data=event["text"])


def _visible(user, site_id: int) -> bool:
    return user.has_perm(PERMISSION) and sites_visible_to(user).filter(pk=site_id).exists()


class SiteConsumer(LiveConsumer):
    async def authorise(self, user):
        site_id = self.scope["url_route"]["kwargs"]["site_id"]
        self.site = await database_sync_to_async(Site.objects.filter(pk=site_id).first)()
        if self.site is None:
            return CLOSE_NOT_FOUND, _("No such site.")
        if not await database_sync_to_async(_visible)(user, site_id):
            return CLOSE_FORBIDDEN, _("You may not see this site.")
        self.line_ids = await database_sync_to_async(
            lambda: list(Line.objects.filter(site_id=site_id).values_list("pk", flat=True))
        )()
        self.groups_joined = [site_group(site_id)]
        return None

    async def snapshot(self) -> dict:
        return await database_sync_to_async(site_snapshot)(self.site)


class LineConsumer(LiveConsumer):
    async def authorise(self, user):
        line_id = self.scope["url_route"]["kwargs"]["line_id"]
        self.line = await database_sync_to_async(
            Line.objects.select_related("site").filter(pk=line_id).first
        )()
        if self.line is None:
            return CLOSE_NOT_FOUND, _("No such line.")
        if not await database_sync_to_async(_visible)(user, self.line.site_id):
            return CLOSE_FORBIDDEN, _("You may not see this line.")
        self.line_ids = [line_id]
        self.groups_joined = [line_group(line_id)]
        return None

    async def snapshot(self) -> dict:
        return await database_sync_to_async(line_snapshot)(self.line)


websocket_urlpatterns = [
    path("ws/live/sites/<int:site_id>/", SiteConsumer.as_asgi()),
    path("ws/live/lines/<int:line_id>/", LineConsumer.as_asgi()),
]
