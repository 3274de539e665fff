"""Refused Starts, kept as rows: who tried to start which operation where, when, which quality
guard refused them and what they were told.

Why after the rollback, and not in the guard: a guard refuses by raising inside the start's
transaction, and that transaction rolls back whole, so nothing the guard wrote would stay. Nor
does the guard write through a second database connection: on SQLite the start already holds
the write lock (`BEGIN IMMEDIATE`), and a second writer would wait on it until it timed out.
So production tells its refusal hook (`mes.hooks.dispatch_refusal`) once the start's
transaction has rolled back, and `quality.guards` records the refusals of its own guards here,
in a transaction of their own, whichever edge the start came from (tablet, API, machine).
A caller that wraps the start in a transaction of its own keeps the row only if it commits.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from mes.models import User, Workstation
from quality.models import StartRefusal
from workorders.models import WorkOrderOperation


def start_refusal_record(
    *,
    user: User,
    workstation: Workstation,
    operation_id: int,
    key: uuid.UUID,
    guard: str,
    code: str,
    message: str,
) -> StartRefusal | None:
    """Keep one refused Start. A resend of the same tap (same person, same key) finds the first
    row and writes none; an operation that does not exist (refused before any guard ran) records
    nothing and returns None. Append-only: the row is never changed afterwards."""
    work_order_id = (
        WorkOrderOperation.objects.filter(pk=operation_id).values_list("work_order_id", flat=True).first()
    )
    if work_order_id is None:
        return None
    existing = StartRefusal.objects.filter(user=user, idempotency_key=key).first()
    if existing is not None:
        return existing
    refusal = StartRefusal(
        user=user,
        workstation=workstation,
        work_order_id=work_order_id,
        operation_id=operation_id,
        guard=guard,
        code=code[:32],
        message=message[:500],
        idempotency_key=key,
        refused_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            refusal.save(force_insert=True)
    except IntegrityError:  # the same tap, refused twice at once
        return StartRefusal.objects.get(user=user, idempotency_key=key)
    return refusal
