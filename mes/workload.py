"""How much work waits at each workstation, for the kernel's pages (the Tablets page offers the
workstations with work queued first in mind). Production knows the queue; it registers the
counter from its AppConfig.ready(), so the kernel never imports the apps built on it."""

from __future__ import annotations

from collections.abc import Callable, Iterable

QueueCounter = Callable[[list[int]], dict[int, int]]

_counter: QueueCounter | None = None


def set_queue_counter(counter: QueueCounter) -> None:
    """`counter(workstation_ids)` answers {workstation id: operations queued there} in one query."""
    global _counter
    _counter = counter


def queued_by_workstation(workstation_ids: Iterable[int]) -> dict[int, int]:
    ids = list(workstation_ids)
    if _counter is None or not ids:
        return {}
    return _counter(ids)
