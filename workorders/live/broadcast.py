"""After commit, send the dashboards a small delta of the line that changed.

Called from inside a transaction (the ledger's event handler `on_production_event`, the andon
services); the message is built and sent only once the transaction has committed, so a dashboard
never shows uncommitted data.
A delta carries the line's sequence number: a client that sees a gap re-reads the snapshot.
A failed send is logged and dropped: the commit has happened, and the gap check, the heartbeat
and the consumers' periodic sequence check bring every dashboard back in line.

In the web server the request that committed does not wait for its delta: the change is handed
to the server's event loop, where one publisher per line sends what has gathered since its last
delta as one delta (one sequence number, the union of the changed workstations, every event in
commit order). A busy line thus costs the database one sequence update and one line summary per
delta rather than per tap, and a tablet's answer never waits on the dashboards. The MQTT ingestor,
which commits machine counts outside the server, runs the same publishers on a loop of its own
(`start_publisher_thread`). Elsewhere (the Celery worker, other commands, tests) each commit
sends its own delta at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections, transaction

from workorders.live.projection import next_sequence, project_event
from workorders.live.selectors import event_summary, line_delta

logger = logging.getLogger(__name__)


def line_group(line_id: int) -> str:
    return f"line.{line_id}"


def site_group(site_id: int) -> str:
    return f"site.{site_id}"


@dataclass
class Change:
    """One committed change of a line, waiting for its delta."""

    line_id: int
    site_id: int | None
    workstations: list[int]
    event: dict | None
    andon: dict | None
    figures: bool
    at: datetime | None
    committed_at: float
    line: object = None


def on_production_event(event) -> None:
    """In-transaction event handler (registered in `WorkordersConfig.ready`): project the event
    onto the status rows, then have the line's dashboards sent the delta once it commits."""
    projected = project_event(event)
    if projected is not None:
        schedule_delta(
            line_id=event.line_id,
            site_id=projected.line.site_id,
            workstations=projected.workstations,
            event=event,
            line=projected.line,
        )


def schedule_delta(
    *,
    line_id: int,
    site_id: int | None,
    workstations: list[int],
    event=None,
    andon: dict | None = None,
    line=None,
    figures: bool = False,
) -> None:
    """Once the transaction commits, have the line's dashboards sent a delta for this change.
    The event is summed up after the commit, not while the transaction holds its locks."""
    at = event.occurred_at if event is not None else None

    def committed() -> None:
        summary = event_summary(event) if event is not None else None
        change = Change(line_id, site_id, workstations, summary, andon, figures, at, time.time(), line)
        loop, publisher = _server_loop, _publisher
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(publisher.add, change)
            return
        try:
            # One line's deltas leave this process in the order of their numbers; otherwise two
            # threads finishing a moment apart would cross and make every dashboard re-read.
            with _line_lock(line_id):
                groups, message = build_delta([change])
                send_to_groups(groups, group_message(message))
        except Exception:
            logger.exception("live delta for line %s not sent", line_id)

    transaction.on_commit(committed)


def build_delta(changes: list[Change]) -> tuple[list[str], dict]:
    """Raise the line's sequence number once and build the delta covering `changes` (one line's,
    in commit order); returns the groups to send it to and the message."""
    first = changes[0]
    times = [c.at for c in changes if c.at is not None]
    sequence, last_event_at = next_sequence(first.line_id, max(times) if times else None)
    stations = list(dict.fromkeys(ws for c in changes for ws in c.workstations))
    message = line_delta(
        line_id=first.line_id,
        sequence=sequence,
        last_event_at=last_event_at,
        workstation_ids=stations,
        line=next((c.line for c in changes if c.line is not None), None),
        figures=any(c.figures for c in changes),
    )
    events = [c.event for c in changes if c.event is not None]
    andon = [c.andon for c in changes if c.andon is not None]
    message.update(
        {
            "event": events[-1] if events else None,
            "events": events,
            "andon_change": andon[-1] if andon else None,
            "committed_at": first.committed_at,  # the oldest change it carries: honest latency
        }
    )
    site = next((c.site_id for c in changes if c.site_id is not None), None)
    if site is None:
        site = message["line"]["site"]
    return [line_group(first.line_id), site_group(site)], message


def group_message(delta: dict) -> dict:
    """The channel layer's message of a delta: the text every dashboard is sent, encoded once here
    rather than by each of the line's and the site's dashboards, and beside it the line and the
    sequence number the dashboards' consumers keep."""
    return {
        "type": "line.delta",
        "line": delta["line"]["id"],
        "seq": delta["seq"],
        "text": json.dumps({"type": "delta", **delta}),
    }


# --- In the web server: one publisher per line on the server's event loop ----------------------

_server_loop: asyncio.AbstractEventLoop | None = None
_publisher: LinePublisher | None = None


def use_server_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Send deltas from this (the ASGI server's) event loop from now on; called by `config.asgi`.
    Another loop gets publishers of its own: tasks of a loop that ended never block a line."""
    global _server_loop, _publisher
    if loop is not _server_loop:
        _server_loop, _publisher = loop, LinePublisher()


_publisher_thread: threading.Thread | None = None


def start_publisher_thread() -> None:
    """For a long-running process that commits production outside the web server: run the line
    publishers on an event loop in a thread of their own, so its commits do not wait for their
    deltas either and a burst of them leaves as few deltas. Idempotent."""
    global _publisher_thread
    if _publisher_thread is not None:
        return
    loop = asyncio.new_event_loop()
    _publisher_thread = threading.Thread(target=loop.run_forever, name="live-publisher", daemon=True)
    _publisher_thread.start()
    use_server_loop(loop)


def stop_publisher_thread(timeout: float = 5) -> None:
    """Stop what `start_publisher_thread` started, once the deltas it holds have left (within
    `timeout`); deltas are then sent at each commit again."""
    global _publisher_thread
    if _publisher_thread is None:
        return
    loop, publisher = _server_loop, _publisher
    use_server_loop(None)
    try:
        asyncio.run_coroutine_threadsafe(publisher.finish(timeout), loop).result(timeout + 1)
    except Exception:
        logger.exception("live deltas still queued at shutdown were not all sent")
    loop.call_soon_threadsafe(loop.stop)
    _publisher_thread.join(5)
    loop.close()
    _publisher_thread = None


class LinePublisher:
    """Lives on the server's event loop. `add` queues a committed change; for each line at most one
    task runs, sending everything queued for the line as one delta, then the next batch, until
    nothing is left. Batches of one line leave in order."""

    def __init__(self) -> None:
        self.pending: dict[int, list[Change]] = {}
        self.tasks: dict[int, asyncio.Task] = {}

    async def finish(self, timeout: float) -> None:
        """Wait until every line has sent what it holds (a process about to stop)."""
        if self.tasks:
            await asyncio.wait(list(self.tasks.values()), timeout=timeout)

    def add(self, change: Change) -> None:
        self.pending.setdefault(change.line_id, []).append(change)
        if change.line_id not in self.tasks:
            self.tasks[change.line_id] = asyncio.ensure_future(self.drain(change.line_id))

    async def drain(self, line_id: int) -> None:
        try:
            while changes := self.pending.pop(line_id, None):
                try:
                    groups, message = await sync_to_async(_build_and_release, thread_sensitive=False)(changes)
                    await fan_out(groups, group_message(message))
                except Exception:
                    logger.exception("live delta for line %s not sent", line_id)
                # A line's changes after this wait a moment and leave together: a wall screen
                # cannot show more, and each delta costs one message per dashboard.
                await asyncio.sleep(settings.LIVE_DELTA_INTERVAL_SECONDS)
        finally:
            del self.tasks[line_id]


def _build_and_release(changes: list[Change]) -> tuple[list[str], dict]:
    # A thread of the loop's executor: hand its database connection back as a request would.
    try:
        return build_delta(changes)
    finally:
        close_old_connections()


_line_locks: dict[int, threading.Lock] = {}
_line_locks_guard = threading.Lock()


def _line_lock(line_id: int) -> threading.Lock:
    with _line_locks_guard:
        return _line_locks.setdefault(line_id, threading.Lock())


def announce_line(line_id: int) -> None:
    """After commit, send the line's dashboards a delta with its figures (for apps that add them)."""
    schedule_delta(line_id=line_id, site_id=None, workstations=[], figures=True)


async def fan_out(groups: list[str], message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        await layer.group_send(group, message)


def send_to_groups(groups: list[str], message: dict) -> None:
    async_to_sync(fan_out)(groups, message)
