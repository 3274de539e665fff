"""Run a production action once per client idempotency key, by the rule of `mes.idempotency`.

The ledger is its own record of keys: each event stores its key (unique), its request's
fingerprint and its author (`user`), so a retry finds the first event and whose it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from mes import idempotency
from mes.models import User
from workorders.models import ProductionEvent


@dataclass(frozen=True)
class Recorded:
    """The ledger event an action appended, and whether this call replayed an earlier one."""

    event: ProductionEvent
    replayed: bool


def derived_key(key: uuid.UUID, purpose: str) -> uuid.UUID:
    """A stable key for a further event one action makes (e.g. the order start on a first start)."""
    return uuid.uuid5(key, purpose)


def _recorded(key: uuid.UUID) -> idempotency.Earlier[ProductionEvent] | None:
    event = ProductionEvent.objects.filter(idempotency_key=key).first()
    if event is None:
        return None
    return idempotency.Earlier(event.user_id, event.request_fingerprint, event)


def is_recorded(key: uuid.UUID) -> bool:
    """Whether `key` already made an event (a retry), e.g. to ask no second password for it."""
    return ProductionEvent.objects.filter(idempotency_key=key).exists()


def run_once(
    key: uuid.UUID,
    request: dict,
    action: Callable[[str], ProductionEvent],
    *,
    user: User,
    look_first: bool = False,
) -> Recorded:
    """Call `action(fingerprint)` in one transaction unless `key` already recorded this request.

    A retry of the same request by the same person (or machine account) returns the first event;
    the key sent by someone else, or with another request, is a 409. See `mes.idempotency.run_once`
    (and its `look_first`, for an action that signs).
    """
    once = idempotency.run_once(
        key=key, author=user, request=request, act=action, recorded=_recorded, look_first=look_first
    )
    return Recorded(once.result, replayed=once.replayed)
