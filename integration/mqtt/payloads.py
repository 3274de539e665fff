"""Parse MQTT topics and JSON payloads into messages, or refuse them with a reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from workorders.live.states import AndonKind, LiveState

TOPIC_PREFIX = "mes"
METRICS = ("state", "count", "alarm")
MAX_PAYLOAD = 4096


class BadMessage(ValueError):
    """A message the ingestor cannot use; `reason` is a short code for the counters and the log."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class Topic:
    site: str
    line: str
    workstation: str
    metric: str

    @property
    def station_key(self) -> tuple[str, str, str]:
        return (self.site, self.line, self.workstation)


@dataclass(frozen=True)
class StateMessage:
    id: str
    state: str
    reason: str = ""


@dataclass(frozen=True)
class CountMessage:
    id: str
    good: Decimal | None
    scrap: Decimal | None
    scrap_reason: str = ""


@dataclass(frozen=True)
class AlarmMessage:
    id: str
    kind: str
    text: str
    active: bool


def parse_topic(topic: str) -> Topic:
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != TOPIC_PREFIX or not all(parts) or parts[4] not in METRICS:
        raise BadMessage("bad_topic", topic)
    return Topic(*parts[1:])


def _id(data: dict) -> str:
    value = data.get("id", data.get("seq"))
    if (
        isinstance(value, bool)
        or not isinstance(value, str | int)
        or str(value) == ""
        or len(str(value)) > 100
    ):
        raise BadMessage("bad_id", "every message needs an id (or seq): a string or an integer")
    return str(value)


def _counter(data: dict, name: str) -> Decimal | None:
    if name not in data or data[name] is None:
        return None
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadMessage("bad_count", f"{name} must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise BadMessage("bad_count", f"{name} must be a number") from None
    if not number.is_finite() or number < 0 or number > Decimal("1e12"):
        raise BadMessage("bad_count", f"{name} must be a counter (0 or more)")
    return number


def parse_payload(metric: str, payload: bytes) -> StateMessage | CountMessage | AlarmMessage:
    if len(payload) > MAX_PAYLOAD:
        raise BadMessage("too_large", f"{len(payload)} bytes")
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise BadMessage("not_json") from None
    if not isinstance(data, dict):
        raise BadMessage("not_an_object")
    message_id = _id(data)
    if metric == "state":
        state = data.get("state")
        if state not in LiveState.values:
            raise BadMessage("bad_state", f"state must be one of {', '.join(LiveState.values)}")
        return StateMessage(message_id, state, str(data.get("reason") or "")[:32])
    if metric == "count":
        good, scrap = _counter(data, "good"), _counter(data, "scrap")
        if good is None and scrap is None:
            raise BadMessage("bad_count", "a count message needs good or scrap")
        return CountMessage(message_id, good, scrap, str(data.get("scrap_reason") or "")[:32])
    kind = data.get("kind", AndonKind.MAINTENANCE)
    if kind not in AndonKind.values:
        raise BadMessage("bad_alarm", f"kind must be one of {', '.join(AndonKind.values)}")
    active = data.get("active", True)
    if not isinstance(active, bool):
        raise BadMessage("bad_alarm", "active must be true or false")
    return AlarmMessage(message_id, kind, str(data.get("text") or "")[:500], active)


def broker_address(url: str) -> tuple[str, int, str | None, str | None]:
    """(host, port, username, password) of an mqtt:// URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp"):
        raise ValueError(f"MQTT_URL must be mqtt://host:port, not {url!r}")
    return parts.hostname or "127.0.0.1", parts.port or 1883, parts.username, parts.password
