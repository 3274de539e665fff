"""Quality's idempotent requests: the adapter of `mes.idempotency.run_once` to the
`QualityRequest` table, so a retried hold or nonconformance (same key, same person, same request)
returns the first result instead of acting twice."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import models

from mes import idempotency
from quality.models import QualityRequest


@dataclass(frozen=True)
class Done:
    """What an idempotent action produced, and whether this call replayed an earlier one."""

    result_id: int
    replayed: bool


def _recorded(key: uuid.UUID) -> idempotency.Earlier[int] | None:
    earlier = QualityRequest.objects.filter(key=key).values_list(
        "user_id", "request_fingerprint", "result_id"
    )
    found = earlier.first()
    return idempotency.Earlier(*found) if found is not None else None


def _request(action: str, request: dict) -> dict:
    # The action is part of the request: one key can't serve a hold and then a nonconformance.
    return {"action": action, **request}


def replayed(key: uuid.UUID, action: str, request: dict, *, user) -> Done | None:
    """The earlier result if `key` already did this request for `user` (None for a new key); a
    409 if the key is another person's or did another request."""
    earlier = _recorded(key)
    if earlier is None:
        return None
    once = idempotency.replay(
        earlier, author=user, request_fingerprint=idempotency.fingerprint(_request(action, request))
    )
    return Done(once.result, replayed=True)


def run_once(key: uuid.UUID, action: str, request: dict, act: Callable[[], models.Model], *, user) -> Done:
    """Run `act()` in one transaction unless `key` already did this request; a retry by the same
    person returns the first result, the key sent by someone else or for another request is a
    409, and of two concurrent requests with one key the loser rolls back whole and returns the
    winner's result (the rule of `mes.idempotency.run_once`)."""

    def act_and_record(request_fingerprint: str) -> int:
        result = act()
        QualityRequest.objects.create(
            key=key, action=action, request_fingerprint=request_fingerprint, result_id=result.pk, user=user
        )
        return result.pk

    once = idempotency.run_once(
        key=key,
        author=user,
        request=_request(action, request),
        act=act_and_record,
        recorded=_recorded,
        look_first=True,
    )
    return Done(once.result, replayed=once.replayed)
