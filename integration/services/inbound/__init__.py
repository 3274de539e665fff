"""What the ERP pushes down: products, BOMs, routings and work orders, upserted by their ERP keys.

Guarantees:
- each record is applied in one transaction through the production services, so it leaves
  history with the ERP's API user as author, and a refused record leaves nothing behind;
- a PUT of what is already there changes nothing and says `unchanged` (idempotent);
- every record is logged (`InboundRecord`): refused ones with their body, field and reason;
- an order already in progress can't get a quantity below what is completed, a cancelled order
  can't be reopened, and a closed one can't be changed.

The entry points are here; `parsing` reads a record's fields, `appliers` applies one per entity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext

from integration.models import InboundRecord
from integration.services.inbound.appliers import APPLIERS
from integration.states import InboundKind, InboundOutcome
from mes.errors import MesError, ValidationFailed
from mes.idempotency import fingerprint
from mes.models import User

__all__ = ["APPLIERS", "InboundResult", "inbound_apply", "inbound_bulk", "inbound_unreadable"]


@dataclass
class InboundResult:
    """What became of one record; the API answers it as `integration.serializers` shapes it."""

    kind: str
    key: str
    outcome: str
    id: int | None = None
    detail: str = ""
    code: str = ""
    errors: dict = field(default_factory=dict)
    refusal_status: int = 400

    @property
    def ok(self) -> bool:
        return self.outcome != InboundOutcome.REFUSED

    @property
    def http_status(self) -> int:
        if not self.ok:
            return self.refusal_status
        return 201 if self.outcome == InboundOutcome.CREATED else 200


def _storable(value: str) -> str:
    """Text the console can keep: PostgreSQL refuses NUL in a text column, so a NUL the ERP sent
    is kept visibly escaped rather than losing the whole record."""
    return value.replace("\x00", "\\u0000")


def _body(data) -> str:
    return json.dumps(data, sort_keys=True, default=str)[:20000]


def _log(result: InboundResult, data, user: User) -> None:
    InboundRecord.objects.create(
        kind=result.kind if result.kind in InboundKind.values else InboundKind.UNKNOWN,
        erp_key=_storable(result.key)[:200],
        outcome=result.outcome,
        body=_body(data) if not result.ok else "",
        fingerprint=fingerprint(data) if isinstance(data, dict) else "",
        field=_storable(next(iter(result.errors), ""))[:64],
        reason=_storable(result.detail),
        code=result.code[:64],
        user=user,
    )


def inbound_apply(*, kind: str, key: str, data, user: User) -> InboundResult:
    """Apply one ERP record in its own transaction; a refusal leaves nothing but its log entry."""
    key = (key or "").strip()
    try:
        if kind not in APPLIERS:
            raise ValidationFailed(
                gettext("type must be one of %(kinds)s.") % {"kinds": ", ".join(APPLIERS)},
                field="type",
                code="unknown_type",
            )
        if not key:
            raise ValidationFailed(gettext("key is required."), field="key", code="required")
        if not isinstance(data, dict):
            raise ValidationFailed(
                gettext("The record must be a JSON object."), field="data", code="not_an_object"
            )
        with transaction.atomic():
            outcome, pk = APPLIERS[kind](key, data, user)
            result = InboundResult(kind, key, outcome, id=pk)
            _log(result, data, user)
        return result
    except MesError as exc:
        result = InboundResult(
            kind,
            key,
            InboundOutcome.REFUSED,
            detail=exc.message,
            code=exc.code,
            errors={exc.field or "non_field_errors": [exc.message]},
            refusal_status=exc.status_code,
        )
        _log(result, data, user)
        return result


def inbound_bulk(*, records, user: User) -> list[InboundResult]:
    """Apply many records, each on its own; the same key twice with different bodies refuses both."""
    if not isinstance(records, list):
        raise ValidationFailed(gettext("records must be a list."), field="records", code="not_a_list")
    seen: dict[tuple, set[str]] = {}
    for record in records:
        if isinstance(record, dict):
            ident = (record.get("type"), str(record.get("key") or ""))
            seen.setdefault(ident, set()).add(fingerprint({"d": record.get("data")}))
    results = []
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            result = InboundResult(
                "unknown",
                f"records[{i}]",
                InboundOutcome.REFUSED,
                detail=gettext("A record must be an object."),
                code="not_an_object",
                errors={f"records[{i}]": ["A record must be an object."]},
            )
            _log(result, record, user)
            results.append(result)
            continue
        kind, key = record.get("type"), str(record.get("key") or "")
        if len(seen.get((kind, key), ())) > 1:
            reason = f"{kind} {key} appears more than once in this request with different contents."
            result = InboundResult(
                str(kind),
                key,
                InboundOutcome.REFUSED,
                detail=reason,
                code="duplicate_key",
                errors={"key": [reason]},
            )
            _log(result, record.get("data"), user)
            results.append(result)
            continue
        results.append(inbound_apply(kind=kind, key=key, data=record.get("data"), user=user))
    return results


def inbound_unreadable(*, raw: bytes, reason: str, user: User) -> InboundRecord:
    """Park a payload that doesn't parse, with its body and the parser's reason."""
    return InboundRecord.objects.create(
        kind=InboundKind.UNKNOWN,
        outcome=InboundOutcome.REFUSED,
        body=_storable(raw[:20000].decode("utf-8", errors="replace")),
        reason=_storable(reason)[:2000] or "unreadable",
        code="parse_error",
        user=user,
    )
