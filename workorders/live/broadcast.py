"""After commit, send the dashboards a small delta of the line that changed.

Called from inside a transaction (the event handler, the andon services); the message is built
and sent only once the transaction has committed, so a dashboard never shows uncommitted data.
A delta carries the line's sequence number: a client that sees a gap re-reads the snapshot.
A failed send is logged and dropped: the commit has happened, and the gap check, the heartbeat
and the consumers' periodic sequence check bring every dashboard back in line.
"""

from __future__ import annotations

import logging
import threading
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def line_group(line_id: int) -> str:
    return f"line.{line_id}"


def site_group(site_id: int) -> str:
    return f"site.{site_id}"


def event_summary(event) -> dict:
    return {
        "id": event.pk,
        "kind": event.kind,
        "label": event.get_kind_display(),
        "workstation": event.workstation.code if event.workstation_id else "",
        "order": event.work_order.number if event.work_order_id else "",
        "quantity": format(event.quantity.normalize(), "f") if event.quantity is not None else None,
        "reason": event.reason.name if event.reason_id else "",
        "at": event.occurred_at.isoformat(),
    }


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
    """Once the transaction commits, raise the line's sequence number and send `line.delta` to
    the line's and the site's groups."""
    summary = event_summary(event) if event is not None else None
    at = event.occurred_at if event is not None else None

    def send() -> None:
        from workorders.live.projection import next_sequence
        from workorders.selectors.live import line_delta

        committed_in = time.time()  # on_commit runs right after the commit
        try:
            # One line's deltas leave this process in the order of their numbers; otherwise two
            # threads finishing a moment apart would cross and make every dashboard re-read.
            with _line_lock(line_id):
                sequence, last_event_at = next_sequence(line_id, at)
                message = line_delta(
                    line_id=line_id,
                    sequence=sequence,
                    last_event_at=last_event_at,
                    workstation_ids=workstations,
                    line=line,
                    figures=figures,
                )
                message.update({"event": summary, "andon_change": andon, "committed_at": committed_in})
                site = site_id if site_id is not None else message["line"]["site"]
                send_to_groups(
                    [line_group(line_id), site_group(site)], {"type": "line.delta", "delta": message}
                )
        except Exception:
            logger.exception("live delta for line %s not sent", line_id)

    transaction.on_commit(send)


_line_locks: dict[int, threading.Lock] = {}
_line_locks_guard = threading.Lock()


def _line_lock(line_id: int) -> threading.Lock:
    with _line_locks_guard:
        return _line_locks.setdefault(line_id, threading.Lock())


def announce_line(line_id: int) -> None:
    """After commit, send the line's dashboards a delta with its figures (for apps that add them)."""
    schedule_delta(line_id=line_id, site_id=None, workstations=[], figures=True)


def send_to_groups(groups: list[str], message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def fan_out() -> None:
        for group in groups:
            await layer.group_send(group, message)

    async_to_sync(fan_out)()
