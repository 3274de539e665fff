"""Verifying: walk the chain from the first seal, recompute every covered row, table digest and
seal hash, and name the first broken seal with the rows it covers."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext

from mes.seal.canonical import (
    GENESIS_HASH,
    ROW_HASH_PREFIX,
    MissingColumn,
    chain_hash,
    in_ranges,
    row_hashes,
    seal_digest,
    table_digest,
)
from mes.seal.models import AuditSeal, AuditSealPart
from mes.seal.sealed_records import BrokenSeal, broken_seals
from mes.seal.tables import RETIRED_TABLES, sealed_models


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
    # Records sealed by their own signature that no longer match it (`sealed_records`). Kept
    # apart from `problem`: the history holds the change that broke such a seal, so the chain,
    # and a restore that checks it, is sound; the verify still fails on them.
    broken_seals: list[BrokenSeal] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The hash chain holds."""
        return self.problem is None


def _verify_part(seal: AuditSeal, part: AuditSealPart, model) -> tuple[str, Problem | None]:
    try:
        rows = list(row_hashes(model, ranges=part.ranges, only=part.columns))
    except MissingColumn as gone:
        return "", Problem(
            seal=seal.number,
            table=part.table,
            message=f"{part.table} no longer has the sealed column(s) {', '.join(gone.args[0])}",
            changed=[],
            missing=[],
        )
    expected = [i for lo, hi in part.ranges for i in range(lo, hi + 1)]
    found = {hid: h for hid, h in rows}
    digest = table_digest(rows)
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
        message=gettext("the rows of %(table)s no longer match the seal") % {"table": part.table},
        changed=changed,
        missing=missing,
    )
    return digest, problem


def seal_verify(*, sealed_records: bool = True) -> Verification:
    """Walk the chain from the first seal; recompute every covered row, table digest and seal hash.

    Stops at the first broken seal and returns it with the rows it covers. Also counts, per table,
    rows that no seal covers yet (new since the last seal, or turned up in an abandoned gap).
    Then, unless `sealed_records` is False, runs the apps' checks of records sealed by their own
    signature (`sealed_records.register_seal_check`) into `broken_seals`.
    """
    result = _verify_chain()
    if sealed_records:
        result.broken_seals = broken_seals()
    return result


def _verify_chain() -> Verification:
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
                message=gettext(
                    "the chain is broken before seal %(number)s: a seal is missing or out of order"
                )
                % {"number": seal.number},
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
                    seal=seal.number,
                    table=part.table,
                    message=gettext("table %(table)s is gone") % {"table": part.table},
                    covers=covers,
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
        digest = seal_digest(digests)
        if digest != seal.digest or chain_hash(previous_hash, digest) != seal.hash:
            result.problem = Problem(
                seal=seal.number,
                message=gettext("the seal's own hash does not match what it covers"),
                covers=covers,
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
                message=gettext(
                    "%(stray)s rows of %(table)s lie inside the sealed id range but no seal covers them"
                )
                % {"stray": stray, "table": table},
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
        if not in_ranges(hid, sealed) and not in_ranges(hid, pending)
    ][:1000]
