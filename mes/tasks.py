"""Celery tasks of the plant kernel: thin wrappers around one service each."""

from __future__ import annotations

from celery import shared_task

from mes import seal


@shared_task(name="mes.seal_audit_trail", ignore_result=True)
def seal_audit_trail() -> int:
    """Seal new history rows (beat runs it every AUDIT_SEAL_SECONDS). Idempotent: a second run
    finds nothing new, and the sealer's lock keeps two runs from forking the chain."""
    return sum(s.row_count for s in seal.seal_audit_trail(trigger=seal.Trigger.BEAT))
