"""Sealing: each run adds links to the chain under the sealer's lock, table by table, looking
again into the gaps earlier seals left (see the package's notes on rows that commit late)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from mes.errors import ValidationFailed
from mes.seal.canonical import (
    GENESIS_HASH,
    ROW_HASH_PREFIX,
    chain_hash,
    columns,
    in_ranges,
    merge_ranges,
    row_hashes,
    seal_digest,
    table_digest,
    to_ranges,
)
from mes.seal.models import AuditSeal, AuditSealPart, Trigger
from mes.seal.tables import sealed_models

SEAL_BATCH_ROWS = 20_000  # rows of one table in one seal; a run makes as many seals as it needs
GAP_HORIZON_SECONDS = 3600
# An arbitrary constant naming the sealer's PostgreSQL advisory lock.
_ADVISORY_LOCK_KEY = 0x4D45_5341_4C00  # "MESAL"


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])


def _gaps(seen: list[int], after: int, upto: int) -> list[list[int]]:
    """The ids in (after, upto] that are not in `seen` (sorted), as ranges."""
    gaps, expected = [], after + 1
    for hid in seen:
        if hid > expected:
            gaps.append([expected, hid - 1])
        expected = hid + 1
    if upto >= expected:
        gaps.append([expected, upto])
    return gaps


@dataclass
class _TablePlan:
    table: str
    rows: list[tuple[int, str]]
    state: dict
    full: bool


def _plan_table(table: str, model, state: dict, *, now: dt.datetime, batch_rows: int) -> _TablePlan:
    high = int(state.get("high", 0))
    pending = [list(p) for p in state.get("pending", [])]
    abandoned = []
    rows: list[tuple[int, str]] = []
    still_pending = []
    horizon = now - dt.timedelta(
        seconds=getattr(settings, "AUDIT_SEAL_GAP_HORIZON_SECONDS", GAP_HORIZON_SECONDS)
    )
    for lo, hi, first_seen in pending:
        found = list(row_hashes(model, ranges=[[lo, hi]]))
        rows.extend(found)
        for gap in _gaps([hid for hid, _ in found], lo - 1, hi):
            if dt.datetime.fromisoformat(first_seen) < horizon:
                abandoned.append(gap)
            else:
                still_pending.append([*gap, first_seen])
    new = list(row_hashes(model, above=high, limit=batch_rows))
    rows.extend(new)
    if new:
        stamp = now.astimezone(dt.UTC).isoformat()
        still_pending.extend([*gap, stamp] for gap in _gaps([hid for hid, _ in new], high, new[-1][0]))
        high = new[-1][0]
    rows.sort()
    new_state = {"high": high, "pending": still_pending}
    if abandoned:
        new_state["abandoned"] = merge_ranges(abandoned)  # the gaps this seal gave up (for the record)
    return _TablePlan(table=table, rows=rows, state=new_state, full=len(new) >= batch_rows)


def _seal_once(*, user, trigger: str, batch_rows: int) -> tuple[AuditSeal | None, bool]:
    with transaction.atomic():
        _lock()
        last = AuditSeal.objects.order_by("-number").first()
        state = dict(last.state) if last else {}
        now = timezone.now()
        tables = sealed_models()
        plans = [
            _plan_table(table, model, state.get(table, {}), now=now, batch_rows=batch_rows)
            for table, model in tables.items()
        ]
        covered = [p for p in plans if p.rows]
        if not covered:
            return None, False
        parts = []
        for plan in covered:
            ids = [hid for hid, _ in plan.rows]
            parts.append(
                AuditSealPart(
                    table=plan.table,
                    low=ids[0],
                    high=ids[-1],
                    ranges=to_ranges(ids),
                    row_count=len(ids),
                    digest=table_digest(plan.rows),
                    row_hashes="".join(h[:ROW_HASH_PREFIX] for _, h in plan.rows),
                    columns=[c for c, _ in columns(tables[plan.table])],
                )
            )
        previous_hash = last.hash if last else GENESIS_HASH
        digest = seal_digest((p.table, p.ranges, p.row_count, p.digest) for p in parts)
        seal = AuditSeal.objects.create(
            number=(last.number + 1) if last else 1,
            previous_hash=previous_hash,
            digest=digest,
            hash=chain_hash(previous_hash, digest),
            row_count=sum(p.row_count for p in parts),
            sealed_at=now,
            sealed_by=user,
            trigger=trigger,
            state={**state, **{p.table: p.state for p in plans}},
        )
        for part in parts:
            part.seal = seal
        AuditSealPart.objects.bulk_create(parts)
        return seal, any(p.full for p in plans)


def seal_audit_trail(
    *, user=None, trigger: str = Trigger.COMMAND, batch_rows: int = SEAL_BATCH_ROWS, max_seals: int = 1000
) -> list[AuditSeal]:
    """Seal every history row no seal covers yet; returns the new seals (none if nothing is new).

    Guarantees: each seal is made in its own transaction under the sealer's lock and links to the
    seal before it; rows that commit late with a lower id than one already sealed are sealed by a
    later run (see the package's notes on gaps); at most `batch_rows` rows of one table go into
    one seal, and the run continues with further seals until everything is covered.
    """
    if trigger not in Trigger.values:
        raise ValidationFailed(
            gettext("'%(trigger)s' is not a way of sealing.") % {"trigger": trigger}, field="trigger"
        )
    seals = []
    for _ in range(max_seals):
        seal, more = _seal_once(user=user, trigger=trigger, batch_rows=batch_rows)
        if seal is not None:
            seals.append(seal)
        if not more:
            break
    return seals


def seals_covering(table: str, history_ids: Iterable[int]) -> dict[int, AuditSeal]:
    """The seal that covers each of these history ids of `table` (unsealed ids are left out)."""
    ids = sorted(set(history_ids))
    if not ids:
        return {}
    found: dict[int, AuditSeal] = {}
    parts = AuditSealPart.objects.filter(table=table, low__lte=ids[-1], high__gte=ids[0]).select_related(
        "seal"
    )
    for part in parts:
        for hid in ids:
            if part.low <= hid <= part.high and in_ranges(hid, part.ranges):
                found[hid] = part.seal
    return found
