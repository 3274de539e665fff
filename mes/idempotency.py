"""Idempotency keys: every state-changing request from a tablet, the API or a machine carries one.

The key is made by the client (a UUID), travels in the `Idempotency-Key` header or an
`idempotency_key` field, and is stored under a unique constraint with what it produced, so a
retry returns the first result and never counts twice.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from mes.errors import ValidationFailed

HEADER = "HTTP_IDEMPOTENCY_KEY"
FIELD = "idempotency_key"


def parse_key(value: object) -> uuid.UUID:
    """Return the key as a UUID, or refuse with the field and the reason."""
    if value in (None, ""):
        raise ValidationFailed("An idempotency key is required.", field=FIELD, code="required")
    try:
        return uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        raise ValidationFailed(
            "The idempotency key must be a UUID made by the client.", field=FIELD, code="malformed"
        ) from None


def key_from_request(request, data: dict | None = None) -> uuid.UUID:
    """The key from the header, else from the body's `idempotency_key` field."""
    value = request.META.get(HEADER) or (data or {}).get(FIELD)
    return parse_key(value)


def fingerprint(payload: dict) -> str:
    """A stable hash of a request body, to tell a true retry from a reused key."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
