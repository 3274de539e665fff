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

`seal_verify()` (``manage.py verify_audit_trail``) walks the chain from the first seal,
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

**Records with a seal of their own** (a decision signed over the hash of what it decided on, like
a released production record) are checked by the verify too, through checks their apps register
(`sealed_records`): a later change to what such a seal covers is in the history, so the chain
holds, but the verify reports the record's broken seal (`Verification.broken_seals`).

The package: `models` (the seals and their parts), `tables` (what the seal covers), `canonical`
(rows to hashes, digests, ranges), `sealing` (sealing), `verify` (the verify), `sealed_records` (the
apps' checks of records sealed by a signature) and `triggers` (the database's refusal to change
history). Callers import from `mes.seal`.
"""

from mes.seal.canonical import (
    GENESIS_HASH,
    ROW_HASH_PREFIX,
    canonical_row,
    chain_hash,
    in_ranges,
    merge_ranges,
    seal_digest,
    to_ranges,
)
from mes.seal.models import AuditSeal, AuditSealPart, Trigger
from mes.seal.sealed_records import BrokenSeal, broken_seals, register_seal_check
from mes.seal.sealing import GAP_HORIZON_SECONDS, SEAL_BATCH_ROWS, seal_audit_trail, seals_covering
from mes.seal.tables import RETIRED_TABLES, append_only_models, history_models, sealed_models
from mes.seal.triggers import HISTORY_APPEND_ONLY_FUNCTION, protect_history_tables
from mes.seal.verify import Problem, Verification, seal_verify

__all__ = [
    "GAP_HORIZON_SECONDS",
    "GENESIS_HASH",
    "HISTORY_APPEND_ONLY_FUNCTION",
    "RETIRED_TABLES",
    "ROW_HASH_PREFIX",
    "SEAL_BATCH_ROWS",
    "AuditSeal",
    "AuditSealPart",
    "BrokenSeal",
    "Problem",
    "Trigger",
    "Verification",
    "append_only_models",
    "broken_seals",
    "canonical_row",
    "chain_hash",
    "history_models",
    "in_ranges",
    "merge_ranges",
    "protect_history_tables",
    "register_seal_check",
    "seal_audit_trail",
    "seal_digest",
    "seal_verify",
    "sealed_models",
    "seals_covering",
    "to_ranges",
]
