"""How rows become hashes: the canonical serialisation of a row, the table and seal digests, the
chain link, and the id ranges a seal covers. The same row gives the same bytes on SQLite and on
PostgreSQL (see the package's notes)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.utils import timezone

GENESIS_HASH = "0" * 64
ROW_HASH_PREFIX = 16  # hex digits of each row hash kept to name a changed row


def columns(model, only: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(column, attname) of every concrete field, sorted by column name; with `only`, of those
    columns alone (the ones a seal recorded). A recorded column the model no longer has raises
    `MissingColumn`: its values are gone, so the rows can't be checked against that seal."""
    every = {f.column: f.attname for f in model._meta.concrete_fields}
    if only is None:
        return sorted(every.items())
    wanted = list(only)
    gone = [c for c in wanted if c not in every]
    if gone:
        raise MissingColumn(gone)
    return sorted((c, every[c]) for c in wanted)


class MissingColumn(Exception):
    """A sealed column that the table no longer has."""


def canonical_value(value):
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
        return {str(k): canonical_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical_value(v) for v in value]
    return str(value)


def canonical_row(columns: list[str], values: Iterable) -> bytes:
    """The bytes a row is hashed by: ``[[column, value], ...]`` in column order, compact JSON."""
    pairs = [[c, canonical_value(v)] for c, v in zip(columns, values, strict=True)]
    return json.dumps(pairs, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def row_hashes(
    model,
    *,
    ranges: list[list[int]] | None = None,
    above: int | None = None,
    limit=None,
    only: Iterable[str] | None = None,
) -> Iterator:
    """(history id, row hash) in id order, for ids in `ranges`, or above `above` (up to `limit`),
    over every column or, with `only`, over the columns a seal recorded."""
    cols = columns(model, only)
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


def table_digest(rows: list[tuple[int, str]]) -> str:
    h = hashlib.sha256()
    for hid, row_hash in rows:
        h.update(f"{hid}:{row_hash}\n".encode())
    return h.hexdigest()


def seal_digest(parts: Iterable[tuple[str, list, int, str]]) -> str:
    canonical = json.dumps(
        [[t, r, n, d] for t, r, n, d in sorted(parts)], separators=(",", ":"), ensure_ascii=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def chain_hash(previous_hash: str, digest: str) -> str:
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


def in_ranges(hid: int, ranges: list[list[int]]) -> bool:
    return any(lo <= hid <= hi for lo, hi in ranges)
