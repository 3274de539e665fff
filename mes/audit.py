"""The audit seal: every history table's rows sealed into one hash chain, and its verification.

django-simple-history writes a history row for every change of a regulated record. Those rows
are evidence only if nobody can change them unseen, so they are sealed periodically (a Celery
beat task, `manage.py seal_audit_trail`, a button on the audit page, `POST /api/v1/audit/seal/`).
An append-only table that is its own history (the production ledger: each row written once and
never changed) has no history table beside it; the seal covers its rows directly, by their
primary key, exactly like a history table's (`append_only_models`). Below, "history table" and
"history id" stand for those tables and their ids as well.

- a seal covers the rows of each history table that no earlier seal covers, as exact id ranges
  per table (`AuditSealPart.ranges`), and the previous seal's hash:
  ``hash = sha256(previous_hash + digest)``, where ``digest`` is the SHA-256 of the canonical
  list of ``[table, ranges, row count, table digest]``, and a table digest is the SHA-256 of
  ``"<history id>:<row hash>\\n"`` lines in id order;
- a row hash is the SHA-256 of the row's canonical serialisation (`canonical_row`): every
  column, sorted by column name, values normalised (UTC times with microseconds, decimals
  without trailing zeros, UUIDs as text, JSON re-encoded with sorted keys), so SQLite and
  PostgreSQL give the same bytes for the same row;
- the first 16 hex digits of each row hash are kept with the seal (`AuditSealPart.row_hashes`)
  so a verify can name the very row that changed; the chain itself uses the full hashes.

`audit_verify()` (``manage.py verify_audit_trail``) walks the chain from the first seal,
recomputes every row, table digest and seal hash and reports the first broken seal with the rows
it covers: a changed row, a deleted row (an id the seal covers is gone), an inserted row (an id
inside a covered range that the seal did not have), a broken link between seals.

**Rows that commit late.** History ids are handed out when a row is inserted, not when its
transaction commits: while transaction A (id 10) is still open, transaction B (id 11) may commit
and be sealed. A plain "everything above the last sealed id" would then skip row 10 forever.
So each seal keeps, per table, the highest id it looked at (``high``) and the *gaps* below it:
ids it did not see (``pending``, as ranges with the time they were first seen missing). Every
seal looks into its predecessor's gaps again and seals the rows that have appeared there since.
A gap still empty after `GAP_HORIZON_SECONDS` (far longer than any transaction lives; on
PostgreSQL a rolled-back insert leaves a hole in the sequence for ever) is given up and noted in
the state of the seal that gave it up (``abandoned``); a row that turns up in an abandoned gap later is reported by
the verify as a row that no seal covers. Choosing gaps over "seal only rows older than a few
seconds" means no delay before a row is sealed and no reliance on clocks or `history_date`
(which callers may set themselves).

**Two sealers at once** never fork the chain: a seal is made under a lock (a PostgreSQL
transaction-level advisory lock; on SQLite the IMMEDIATE transaction takes the write lock at
BEGIN, which serialises writers), and `previous_hash` is unique, so a second seal on the same
predecessor could not be stored even without the lock. On PostgreSQL a trigger refuses UPDATE
and DELETE on the seal tables, and another on every history table (`protect_history_tables`,
run after each migrate): the application's own database user can only add history, so the seal
is the check against someone with the privileges to switch triggers off.

What a hash chain can't show alone: someone who may rewrite the database could rewrite rows and
every later seal. Publishing the latest seal's hash elsewhere (a report, a printout, the ERP)
anchors it; the verify prints it for that purpose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.db import connection, connections, models, transaction
from django.utils import timezone

GENESIS_HASH = "0" * 64
ROW_HASH_PREFIX = 16  # hex digits of each row hash kept to name a changed row
SEAL_BATCH_ROWS = 20_000  # rows of one table in one seal; a run makes as many seals as it needs
GAP_HORIZON_SECONDS = 3600
# An arbitrary constant naming the sealer's PostgreSQL advisory lock.
_ADVISORY_LOCK_KEY = 0x4D45_5341_4C00  # "MESAL"


class Trigger(models.TextChoices):
    BEAT = "beat", "Periodic task"
    COMMAND = "command", "Command line"
    PAGE = "page", "Audit page"
    API = "api", "API"


class AuditSeal(models.Model):
    """One link of the chain: the hash over the rows it covers and its predecessor's hash."""

    number = models.PositiveBigIntegerField(unique=True)
    previous_hash = models.CharField(max_length=64, unique=True)
    digest = models.CharField(max_length=64, help_text="SHA-256 over the covered rows, table by table.")
    hash = models.CharField(max_length=64, unique=True, help_text="sha256(previous_hash + digest).")
    row_count = models.PositiveIntegerField()
    sealed_at = models.DateTimeField()
    sealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    state = models.JSONField(
        default=dict, help_text="Per history table: the highest id looked at, and the gaps below it."
    )

    class Meta:
        app_label = "mes"
        ordering = ["number"]
        permissions = [("seal_audit_trail", "Seal the audit trail on demand")]

    def __str__(self) -> str:
        return f"seal {self.number} ({self.row_count} rows, {self.hash[:12]})"


class AuditSealPart(models.Model):
    """The rows of one history table that one seal covers."""

    seal = models.ForeignKey(AuditSeal, on_delete=models.PROTECT, related_name="parts")
    table = models.CharField(max_length=128)
    low = models.BigIntegerField()
    high = models.BigIntegerField()
    ranges = models.JSONField(help_text="The covered history ids as [first, last] ranges, ascending.")
    row_count = models.PositiveIntegerField()
    digest = models.CharField(max_length=64)
    row_hashes = models.TextField(
        help_text=f"The first {ROW_HASH_PREFIX} hex digits of each row's hash, in id order."
    )

    class Meta:
        app_label = "mes"
        ordering = ["seal", "table"]
        constraints = [models.UniqueConstraint(fields=["seal", "table"], name="audit_seal_part_once")]
        indexes = [models.Index(fields=["table", "low", "high"], name="audit_seal_part_table")]

    def __str__(self) -> str:
        return f"{self.table} {self.ranges} in seal {self.seal_id}"


# --- the history tables ---------------------------------------------------------------------------


# History tables that a migration dropped on purpose, because their model became its own
# history and is sealed directly since. Seals made before keep their parts of these tables; the
# rows are gone, so a verify takes those parts' stored digests, which the chain still checks.
RETIRED_TABLES = {
    "workorders_historicalproductionevent": "the production ledger, sealed directly since",
}


def history_models() -> dict[str, type[models.Model]]:
    """Every history table, by table name: simple-history's historical models and the history
    of their many-to-many fields (a user's groups)."""
    from simple_history.models import HistoricalChanges

    found: dict[str, type[models.Model]] = {}
    for model in apps.get_models():
        if issubclass(model, HistoricalChanges):
            found[model._meta.db_table] = model
        else:
            history_fk = next((f for f in model._meta.fields if f.name == "history" and f.is_relation), None)
            if history_fk is not None and issubclass(history_fk.related_model, HistoricalChanges):
                found[model._meta.db_table] = model
    return dict(sorted(found.items()))


def append_only_models() -> dict[str, type[models.Model]]:
    """Append-only tables that are their own history, by table name: models that declare
    `audit_sealed_directly = True` (written once, never changed; on PostgreSQL their own trigger
    refuses UPDATE and DELETE). Their rows are sealed by primary key, with no history table."""
    found = {
        model._meta.db_table: model
        for model in apps.get_models()
        if getattr(model, "audit_sealed_directly", False) is True
    }
    return dict(sorted(found.items()))


def sealed_models() -> dict[str, type[models.Model]]:
    """Every table the seal covers: the history tables and the append-only tables."""
    return dict(sorted({**history_models(), **append_only_models()}.items()))


HISTORY_APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION mes_refuse_history_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused on %', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def protect_history_tables(using: str = "default") -> list[str]:
    """On PostgreSQL, have every history table refuse UPDATE and DELETE; returns the tables.

    Run after every migrate (`MesConfig`), so a history table that a later migration adds is
    covered as well; a table not yet migrated is left until it exists. TRUNCATE, how tests reset
    tables, fires no row trigger."""
    db = connections[using]
    if db.vendor != "postgresql":
        return []
    existing = set(db.introspection.table_names())
    tables = [table for table in history_models() if table in existing]
    with db.cursor() as cursor:
        cursor.execute(HISTORY_APPEND_ONLY_FUNCTION)
        for table in tables:
            cursor.execute(
                f"CREATE OR REPLACE TRIGGER mes_history_append_only BEFORE UPDATE OR DELETE ON {db.ops.quote_name(table)} "
                "FOR EACH ROW EXECUTE FUNCTION mes_refuse_history_change()"
            )
    return tables


def _columns(model) -> list[tuple[str, str]]:
    """(column, attname) of every concrete field, sorted by column name."""
    return sorted((f.column, f.attname) for f in model._meta.concrete_fields)


# --- canonical serialisation ------------------------------------------------------------------------


def _canonical_value(value):
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S.%f")
    if isinstance(value, dt.timedelta):
        return value // dt.timedelta(microseconds=1)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): _canonical_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical_value(v) for v in value]
    return str(value)


def canonical_row(columns: list[str], values: Iterable) -> bytes:
    """The bytes a row is hashed by: ``[[column, value], ...]`` in column order, compact JSON."""
    pairs = [[c, _canonical_value(v)] for c, v in zip(columns, values, strict=True)]
    return json.dumps(pairs, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _rows(model, *, ranges: list[list[int]] | None = None, above: int | None = None, limit=None) -> Iterator:
    """(history id, row hash) in id order, for ids in `ranges`, or above `above` (up to `limit`)."""
    cols = _columns(model)
    pk = model._meta.pk.attname
    names = [c for c, _ in cols]
    attnames = [a for _, a in cols]
    pk_index = attnames.index(pk)
    base = model._base_manager.order_by(pk)
    if ranges is not None:
        querysets = (base.filter(**{f"{pk}__gte": lo, f"{pk}__lte": hi}) for lo, hi in ranges)
    else:
        qs = base.filter(**{f"{pk}__gt": above})
        querysets = [qs[:limit] if limit else qs]
    for qs in querysets:
        for values in qs.values_list(*attnames).iterator(chunk_size=2000):
            yield values[pk_index], hashlib.sha256(canonical_row(names, values)).hexdigest()


def _table_digest(rows: list[tuple[int, str]]) -> str:
    h = hashlib.sha256()
    for hid, row_hash in rows:
        h.update(f"{hid}:{row_hash}\n".encode())
    return h.hexdigest()


def _seal_digest(parts: Iterable[tuple[str, list, int, str]]) -> str:
    canonical = json.dumps(
        [[t, r, n, d] for t, r, n, d in sorted(parts)], separators=(",", ":"), ensure_ascii=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _chain(previous_hash: str, digest: str) -> str:
    return hashlib.sha256((previous_hash + digest).encode()).hexdigest()


def to_ranges(ids: Iterable[int]) -> list[list[int]]:
    """Sorted ids as [first, last] runs: 1,2,3,7 -> [[1, 3], [7, 7]]."""
    out: list[list[int]] = []
    for i in sorted(ids):
        if out and i == out[-1][1] + 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def merge_ranges(ranges: Iterable[list[int]]) -> list[list[int]]:
    """Sorted, merged [first, last] ranges: [[5, 6], [1, 3], [4, 4]] -> [[1, 6]]."""
    out: list[list[int]] = []
    for lo, hi in sorted([lo, hi] for lo, hi, *_ in ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return out


def _in_ranges(hid: int, ranges: list[list[int]]) -> bool:
    return any(lo <= hid <= hi for lo, hi in ranges)


# --- sealing ------------------------------------------------------------------------------------------


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
        found = list(_rows(model, ranges=[[lo, hi]]))
        rows.extend(found)
        for gap in _gaps([hid for hid, _ in found], lo - 1, hi):
            if dt.datetime.fromisoformat(first_seen) < horizon:
                abandoned.append(gap)
            else:
                still_pending.append([*gap, first_seen])
    new = list(_rows(model, above=high, limit=batch_rows))
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
        plans = [
            _plan_table(table, model, state.get(table, {}), now=now, batch_rows=batch_rows)
            for table, model in sealed_models().items()
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
                    digest=_table_digest(plan.rows),
                    row_hashes="".join(h[:ROW_HASH_PREFIX] for _, h in plan.rows),
                )
            )
        previous_hash = last.hash if last else GENESIS_HASH
        digest = _seal_digest((p.table, p.ranges, p.row_count, p.digest) for p in parts)
        seal = AuditSeal.objects.create(
            number=(last.number + 1) if last else 1,
            previous_hash=previous_hash,
            digest=digest,
            hash=_chain(previous_hash, digest),
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
    later run (see the module's notes on gaps); at most `batch_rows` rows of one table go into
    one seal, and the run continues with further seals until everything is covered.
    """
    if trigger not in Trigger.values:
        from mes.errors import ValidationFailed

        raise ValidationFailed(f"'{trigger}' is not a way of sealing.", field="trigger")
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
            if part.low <= hid <= part.high and _in_ranges(hid, part.ranges):
                found[hid] = part.seal
    return found


# --- verifying -----------------------------------------------------------------------------------------


@dataclass
class Problem:
    """What is wrong with a seal, and the rows it covers."""

    seal: int
    message: str
    table: str = ""
    changed: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    extra: list[int] = field(default_factory=list)
    covers: dict[str, list[list[int]]] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"seal {self.seal}: {self.message}"]
        if self.changed:
            lines.append(f"  changed rows of {self.table}: history ids {_short(self.changed)}")
        if self.missing:
            lines.append(f"  deleted rows of {self.table}: history ids {_short(self.missing)}")
        if self.extra:
            lines.append(f"  rows of {self.table} the seal did not cover: history ids {_short(self.extra)}")
        if self.covers:
            lines.append(f"  seal {self.seal} covers:")
            lines.extend(f"    {t}: {_ranges_text(r)}" for t, r in sorted(self.covers.items()))
        return "\n".join(lines)


def _short(ids: list[int], most: int = 20) -> str:
    text = ", ".join(str(i) for i in ids[:most])
    return text + (f" ... ({len(ids)} in all)" if len(ids) > most else "")


def _ranges_text(ranges: list[list[int]]) -> str:
    return ", ".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)


@dataclass
class Verification:
    seals: int = 0
    rows: int = 0
    tables: dict[str, int] = field(default_factory=dict)
    last_hash: str = GENESIS_HASH
    problem: Problem | None = None
    unsealed: dict[str, int] = field(default_factory=dict)
    # Rows of dropped history tables (RETIRED_TABLES) that earlier seals cover: taken on the
    # parts' stored digests, since the rows themselves are gone.
    retired: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.problem is None


def _verify_part(seal: AuditSeal, part: AuditSealPart, model) -> tuple[str, Problem | None]:
    rows = list(_rows(model, ranges=part.ranges))
    expected = [i for lo, hi in part.ranges for i in range(lo, hi + 1)]
    found = {hid: h for hid, h in rows}
    digest = _table_digest(rows)
    if digest == part.digest and len(rows) == part.row_count:
        return digest, None
    stored = [
        part.row_hashes[i : i + ROW_HASH_PREFIX] for i in range(0, len(part.row_hashes), ROW_HASH_PREFIX)
    ]
    changed = [
        hid
        for hid, h in zip(expected, stored, strict=False)
        if hid in found and found[hid][:ROW_HASH_PREFIX] != h
    ]
    missing = [hid for hid in expected if hid not in found]
    problem = Problem(
        seal=seal.number,
        table=part.table,
        message=f"the rows of {part.table} no longer match the seal",
        changed=changed,
        missing=missing,
    )
    return digest, problem


def audit_verify() -> Verification:
    """Walk the chain from the first seal; recompute every covered row, table digest and seal hash.

    Stops at the first broken seal and returns it with the rows it covers. Also counts, per table,
    rows that no seal covers yet (new since the last seal, or turned up in an abandoned gap).
    """
    result = Verification()
    tables = sealed_models()
    previous_hash = GENESIS_HASH
    highs: dict[str, int] = {}
    covered: dict[str, int] = {}
    for expected_number, seal in enumerate(
        AuditSeal.objects.order_by("number").prefetch_related("parts").iterator(chunk_size=200), start=1
    ):
        parts = sorted(seal.parts.all(), key=lambda p: p.table)
        covers = {p.table: p.ranges for p in parts}
        if seal.number != expected_number or seal.previous_hash != previous_hash:
            result.problem = Problem(
                seal=seal.number,
                message=f"the chain is broken before seal {seal.number}: a seal is missing or out of order",
                covers=covers,
            )
            return result
        digests = []
        for part in parts:
            model = tables.get(part.table)
            if model is None and part.table in RETIRED_TABLES:
                digests.append((part.table, part.ranges, part.row_count, part.digest))
                result.retired[part.table] = result.retired.get(part.table, 0) + part.row_count
                continue
            if model is None:
                result.problem = Problem(
                    seal=seal.number, table=part.table, message=f"table {part.table} is gone", covers=covers
                )
                return result
            digest, problem = _verify_part(seal, part, model)
            if problem is not None:
                problem.covers = covers
                result.problem = problem
                return result
            digests.append((part.table, part.ranges, part.row_count, digest))
            covered[part.table] = covered.get(part.table, 0) + part.row_count
            result.tables[part.table] = result.tables.get(part.table, 0) + part.row_count
        digest = _seal_digest(digests)
        if digest != seal.digest or _chain(previous_hash, digest) != seal.hash:
            result.problem = Problem(
                seal=seal.number, message="the seal's own hash does not match what it covers", covers=covers
            )
            return result
        previous_hash = seal.hash
        result.seals += 1
        result.rows += seal.row_count
        highs = {t: int(s.get("high", 0)) for t, s in (seal.state or {}).items()}
        pending = {t: s.get("pending", []) for t, s in (seal.state or {}).items()}
    result.last_hash = previous_hash
    for table, model in tables.items():
        pk = model._meta.pk.attname
        below = model._base_manager.filter(**{f"{pk}__lte": highs.get(table, 0)}).count()
        in_gaps = sum(
            model._base_manager.filter(**{f"{pk}__gte": lo, f"{pk}__lte": hi}).count()
            for lo, hi, *_ in (pending.get(table, []) if result.seals else [])
        )
        stray = below - covered.get(table, 0) - in_gaps
        if stray > 0:
            ids = _stray_ids(table, model, highs.get(table, 0))
            result.problem = Problem(
                seal=result.seals,
                table=table,
                message=f"{stray} rows of {table} lie inside the sealed id range but no seal covers them",
                extra=ids,
            )
            return result
        newer = model._base_manager.filter(**{f"{pk}__gt": highs.get(table, 0)}).count()
        if newer or in_gaps:
            result.unsealed[table] = newer + in_gaps
    return result


def _stray_ids(table: str, model, high: int) -> list[int]:
    pk = model._meta.pk.attname
    sealed: list[list[int]] = [
        r
        for ranges in AuditSealPart.objects.filter(table=table).values_list("ranges", flat=True)
        for r in ranges
    ]
    last = AuditSeal.objects.order_by("-number").first()
    pending = [
        [lo, hi] for lo, hi, *_ in ((last.state or {}).get(table, {}).get("pending", []) if last else [])
    ]
    ids = model._base_manager.filter(**{f"{pk}__lte": high}).values_list(pk, flat=True).order_by(pk)
    return [
        hid
        for hid in ids.iterator(chunk_size=5000)
        if not _in_ranges(hid, sealed) and not _in_ranges(hid, pending)
    ][:1000]
