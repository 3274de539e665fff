"""The connector contract and the HTTP answer rules both connectors share.

Only transport failures are retried: no connection, a timeout, a 5xx (and 408/429, which say
"later"), or an answer the connector can't read (the ERP may have applied it: the retry carries
the same key, so it is applied once). A 4xx or a negative acknowledgement is a business
rejection and goes to a person, never retried blindly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

import httpx

from integration.config import ErpConfig

Outcome = Literal["acknowledged", "rejected", "retry"]
RETRY_STATUS = {408, 425, 429}


@dataclass(frozen=True)
class Ack:
    outcome: Outcome
    reference: str = ""
    reason: str = ""
    status_code: int | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "acknowledged"


class Connector:
    """Send one message (an `OutboxMessage`, or anything with `payload` and `idempotency_key`)."""

    name = ""
    path = ""
    content_type = "application/json"

    def __init__(self, config: ErpConfig):
        self.config = config
        headers = {"Content-Type": self.content_type, "Accept": "application/json"}
        if config.auth_header and ":" in config.auth_header:
            name, value = config.auth_header.split(":", 1)
            headers[name.strip()] = value.strip()
        self.client = httpx.Client(base_url=config.url.rstrip("/"), headers=headers, timeout=config.timeout)

    def render(self, message) -> bytes:
        raise NotImplementedError

    def send(self, message) -> Ack:
        body = self.render(message)
        try:
            response = self.client.post(
                self.path, content=body, headers={"Idempotency-Key": str(message.idempotency_key)}
            )
        except httpx.TimeoutException as exc:
            return Ack("retry", reason=f"timeout after {self.config.timeout:g} s ({type(exc).__name__})")
        except httpx.HTTPError as exc:
            return Ack("retry", reason=f"transport error: {type(exc).__name__}: {exc}"[:500])
        return read_answer(response)

    def close(self) -> None:
        self.client.close()


def read_answer(response: httpx.Response) -> Ack:
    """Turn the ERP's HTTP answer into an Ack."""
    code = response.status_code
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        body = None
    if not isinstance(body, dict):
        body = None
    reason = ""
    if body:
        reason = str(body.get("reason") or body.get("detail") or "")
    if code >= 500 or code in RETRY_STATUS:
        return Ack(
            "retry", reason=f"ERP answered {code}: {reason or response.text[:200]}".strip(), status_code=code
        )
    if 400 <= code < 500:
        return Ack(
            "rejected", reason=reason or f"ERP refused with {code}: {response.text[:300]}", status_code=code
        )
    if body is None:
        return Ack(
            "retry",
            reason=f"unexpected answer ({code}): not a JSON acknowledgement: {response.text[:200]!r}",
            status_code=code,
        )
    status = body.get("status")
    if status == "acknowledged" and body.get("reference"):
        return Ack("acknowledged", reference=str(body["reference"])[:200], status_code=code)
    if status == "rejected":
        return Ack("rejected", reason=reason or "negative acknowledgement without a reason", status_code=code)
    return Ack("retry", reason=f"unexpected answer ({code}): {json.dumps(body)[:200]}", status_code=code)
