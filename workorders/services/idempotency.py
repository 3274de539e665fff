"""Run a production action once per client idempotency key."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from mes.errors import Conflict, MesError
from mes.idempotency import fingerprint
from workorders.models import ProductionEvent


@dataclass(frozen=True)
class Recorded:
    """The ledger event an action appended, and whether this call replayed an earlier one."""

    event: ProductionEvent
    replayed: bool


def derived_key(key: uuid.UUID, purpose: str) -> uuid.UUID:
    """A stable key for a further event one action makes (e.g. the order start on a first start)."""
    return uuid.uuid5(key, purpose)


def _replay(key: uuid.UUID, request_fingerprint: str) -> Recorded | None:
    existing = ProductionEvent.objects.filter(idempotency_key=key).first()
    if existing is None:
        return None
    if existing.request_fingerprint != request_fingerprint:
        raise Conflict(
            "This idempotency key was already used for a different request.",
            field="idempotency_key",
            code="key_reused",
        )
    return Recorded(existing, replayed=True)


def run_once(key: uuid.UUID, request: dict, action: Callable[[str], ProductionEvent]) -> Recorded:
    """Call `action(fingerprint)` in one transaction unless `key` already recorded this request.

    A retry of the same request returns the first event; the same key with another request is a
    409. The common case, a new key, goes straight to work: the ledger's unique constraint is the
    check. A retry either collides on that constraint or is refused by the state the first
    request left behind (a finished operation, say); both roll back whole and then look the key
    up, so the retry gets the first answer. Two concurrent requests with one key race the same
    way: the loser returns the winner's event.
    """
    request_fingerprint = fingerprint(request)
    try:
        with transaction.atomic():
            event = action(request_fingerprint)
    except (IntegrityError, MesError):
        if (replayed := _replay(key, request_fingerprint)) is not None:
            return replayed
        raise
    return Recorded(event, replayed=False)
