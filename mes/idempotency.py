"""Idempotency keys: every state-changing request from a tablet, the API or a machine carries one.

The key is made by the client (a UUID), travels in the `Idempotency-Key` header or an
`idempotency_key` field, and is stored under a unique constraint with what it produced, its
author and a fingerprint of the request, so a retry returns the first result and never counts
twice.

The rule, written once here for every app's ledger (`run_once`): a key belongs to the person who
first used it. The same person sending the same request again gets the first result back; anyone
else sending that key, or the same person sending another request under it, is refused with a
409 naming `idempotency_key`, and nothing is written. A machine's counts are recorded by its
ingestor's account, so its keys are scoped to that account alike. "The same request" is judged on
normalised values: numbers compare as numbers (`"1.0"`, `"1"` and `1` are one quantity) and text
without the surrounding blanks the services strip anyway.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Generic, TypeVar

from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from mes.errors import Conflict, MesError, ValidationFailed

HEADER = "HTTP_IDEMPOTENCY_KEY"
FIELD = "idempotency_key"

T = TypeVar("T")


def parse_key(value: object) -> uuid.UUID:
    """Return the key as a UUID, or refuse with the field and the reason."""
    if value in (None, ""):
        raise ValidationFailed(gettext("An idempotency key is required."), field=FIELD, code="required")
    try:
        return uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        raise ValidationFailed(
            gettext("The idempotency key must be a UUID made by the client."), field=FIELD, code="malformed"
        ) from None


def key_from_request(request, data: dict | None = None) -> uuid.UUID:
    """The key from the header, else from the body's `idempotency_key` field."""
    value = request.META.get(HEADER) or (data or {}).get(FIELD)
    return parse_key(value)


# --- fingerprints --------------------------------------------------------------------------------


def amount(value: object) -> str:
    """A quantity as the fingerprint compares it: its normalised decimal text, so `"1.0"`, `"1"`,
    `1` and `Decimal("1.000")` are one amount. Text that is no number is kept (stripped): the
    service refuses it, and the fingerprint still tells it from any number."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return str(value).strip()
    if not number.is_finite():
        return str(value).strip()
    return f"{number.normalize():f}"


def _canonical(value: object) -> object:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, Decimal | float):
        return amount(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_canonical(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    return str(value).strip()


def fingerprint(payload: dict) -> str:
    """A stable hash of a request body, to tell a true retry from a reused key: text compares
    without surrounding blanks and Decimals and floats as normalised numbers (wrap a quantity
    that may come as text in `amount`)."""
    canonical = json.dumps(_canonical(payload), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- the runner ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Earlier(Generic[T]):
    """What a key recorded before: who sent it, its request's fingerprint and what it produced.
    `author_id` is None only for rows written before keys were scoped to their author."""

    author_id: int | None
    fingerprint: str
    result: T


@dataclass(frozen=True)
class Once(Generic[T]):
    """What an idempotent action produced, and whether this call replayed an earlier one."""

    result: T
    replayed: bool


def replay(earlier: Earlier[T], *, author, request_fingerprint: str) -> Once[T]:
    """The earlier result for a true retry; a 409 for another person's key or another request."""
    if earlier.author_id is not None and earlier.author_id != getattr(author, "pk", author):
        raise Conflict(
            gettext("This idempotency key was used by another person; send your request with a new key."),
            field=FIELD,
            code="key_of_another",
        )
    if earlier.fingerprint != request_fingerprint:
        raise Conflict(
            gettext("This idempotency key was already used for a different request."),
            field=FIELD,
            code="key_reused",
        )
    return Once(earlier.result, replayed=True)


def run_once(
    *,
    key: uuid.UUID,
    author,
    request: dict,
    act: Callable[[str], T],
    recorded: Callable[[uuid.UUID], Earlier[T] | None],
    look_first: bool = False,
) -> Once[T]:
    """Call `act(fingerprint)` in one transaction unless `key` already recorded this request.

    `act` stores the key with its author and the fingerprint (under a unique constraint) beside
    what it makes; `recorded(key)` finds that again. A new key goes straight to work: the unique
    constraint is the check. A retry either collides on it or is refused by the state the first
    request left behind (a finished operation, say); both roll back whole and then look the key
    up, so a retry by its author gets the first answer and anyone else a 409. Two concurrent
    requests with one key race the same way. `look_first` looks the key up before acting, for
    actions that would otherwise ask for something a retry must not (a signature's password).
    """
    request_fingerprint = fingerprint(request)
    if look_first and (earlier := recorded(key)) is not None:
        return replay(earlier, author=author, request_fingerprint=request_fingerprint)
    try:
        with transaction.atomic():
            result = act(request_fingerprint)
    except (IntegrityError, MesError):
        if (earlier := recorded(key)) is not None:
            return replay(earlier, author=author, request_fingerprint=request_fingerprint)
        raise
    return Once(result, replayed=False)
