"""The outbox: queue a message in its ledger event's transaction; deliver it later, outside any.

Queueing (`outbox_enqueue`, called by the event handlers of every message type) numbers the
message per work order and builds its payload once; the row commits or rolls back with the event.

Delivery claims due messages, sends them outside any transaction and records the answer.
Guarantees:
- a message is claimed by one worker at a time (`select_for_update(skip_locked=True)`, then marked
  `sent` with a lease and a claim token, committed before anything is sent);
- the connector is called with no transaction open and no lock held;
- only the ERP's positive acknowledgement makes a message `acknowledged`; a business rejection
  goes to `rejected` (the human queue) and is not retried; transport failures go back to
  `pending` with exponential backoff and jitter, and to `dead` after `ERP_MAX_ATTEMPTS`;
- a worker that dies leaves its messages `sent` until their lease runs out; the sweep then
  returns them to `pending` and they are sent again with the same key (the ERP applies it once).
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from integration.alerts import alert_dead_letters
from integration.config import ErpConfig, erp_config
from integration.connectors import Ack, connector_for
from integration.models import OutboxMessage
from integration.states import MessageStatus, can_transition
from mes import log_context, metrics
from mes.compiled import Compiled, insert_row
from mes.errors import IllegalTransition, NotFound, ValidationFailed
from mes.models import User
from workorders.models import ProductionEvent, WorkOrder

log = logging.getLogger("integration.outbox")
M = MessageStatus


@dataclass
class DeliveryReport:
    configured: bool = True
    claimed: int = 0
    acknowledged: int = 0
    rejected: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def outbox_enqueue(
    *,
    event: ProductionEvent,
    message_type: str,
    key: uuid.UUID,
    work_order: WorkOrder,
    payload: Callable[[int], dict],
) -> OutboxMessage:
    """Queue one message to the ERP about `event`, inside the event's transaction.

    The production services hold the work order's row lock here (on SQLite, the write lock), so
    the next per-order sequence number is taken without a race; the unique constraint on (work
    order, sequence) would refuse one anyway. `payload(sequence)` builds the message in the
    ERP's terms once its number is known. The caller nudges delivery after the commit: these
    services never nudge themselves.

    Queueing writes no history row: the message names its event, and the event (append-only,
    sealed as its own history) says who recorded it, when, and on which request; the history
    of a message holds what changed it afterwards (a person's retry or skip).
    """
    sequence = _next_sequence(work_order.pk)
    message = OutboxMessage(
        message_type=message_type,
        idempotency_key=key,
        event=event,
        work_order=work_order,
        sequence=sequence,
        payload=payload(sequence),
        next_attempt_at=event.recorded_at or timezone.now(),
        request_id=log_context.current("request_id") or "",
    )
    insert_row(message, signals=False)  # no history row (above), so no save signal to hear it
    return message


# The highest number so far, read backwards from the (work order, sequence) unique index: one
# index probe for the database, and (compiled once) next to no Python for each message.
_LAST_SEQUENCE = Compiled(
    lambda work_order_id: (
        OutboxMessage.objects.filter(work_order_id=work_order_id).order_by("-sequence").values("sequence")[:1]
    ),
    "work_order_id",
)


def _next_sequence(work_order_id: int) -> int:
    last = _LAST_SEQUENCE.all(work_order_id=work_order_id)
    return (last[0]["sequence"] if last else 0) + 1


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with jitter: base·2^(n-1), capped, then drawn from its upper half."""
    ceiling = min(settings.ERP_BACKOFF_MAX_SECONDS, settings.ERP_BACKOFF_SECONDS * 2 ** max(0, attempts - 1))
    return ceiling * random.uniform(0.5, 1.0)


def outbox_claim(*, limit: int, now: datetime | None = None) -> list[OutboxMessage]:
    """Claim up to `limit` due messages for this worker and commit the claim before returning."""
    now = now or timezone.now()
    token = uuid.uuid4()
    with transaction.atomic():
        ids = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=M.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return []
        OutboxMessage.objects.filter(pk__in=ids, status=M.PENDING).update(
            status=M.SENT,
            claim_token=token,
            lease_until=now + timedelta(seconds=settings.ERP_LEASE_SECONDS),
            attempts=F("attempts") + 1,
            last_attempt_at=now,
        )
    return list(OutboxMessage.objects.filter(claim_token=token).order_by("id"))


def _send(connector, message: OutboxMessage) -> Ack:
    try:
        return connector.send(message)
    except Exception as exc:  # a connector bug must not lose the claim: retried, then dead
        log.exception("connector failed on message %s", message.pk)
        return Ack("retry", reason=f"connector error: {type(exc).__name__}: {exc}"[:500])


def _record(message: OutboxMessage, ack: Ack, now: datetime, report: DeliveryReport) -> None:
    outcome = _record_outcome(message, ack, now, report)
    metrics.ERP_DELIVERY_ATTEMPTS.labels(outcome=outcome).inc()
    log.info(
        "ERP delivery of message %s (key %s, attempt %s): %s",
        message.pk,
        message.idempotency_key,
        message.attempts,
        outcome,
        extra={"request_id": message.request_id, "outbox_message": message.pk, "outcome": outcome},
    )


def _record_outcome(message: OutboxMessage, ack: Ack, now: datetime, report: DeliveryReport) -> str:
    if ack.ok:
        # A positive acknowledgement is the ERP's word that this key is applied: it holds even if
        # the lease ran out meanwhile and the message was reclaimed.
        OutboxMessage.objects.filter(pk=message.pk, status__in=[M.SENT, M.PENDING, M.DEAD]).update(
            status=M.ACKNOWLEDGED,
            erp_reference=ack.reference,
            acknowledged_at=now,
            lease_until=None,
            claim_token=None,
            last_error="",
        )
        report.acknowledged += 1
        return "acknowledged"
    mine = OutboxMessage.objects.filter(pk=message.pk, status=M.SENT, claim_token=message.claim_token)
    if ack.outcome == "rejected":
        mine.update(status=M.REJECTED, last_error=ack.reason, lease_until=None, claim_token=None)
        report.rejected += 1
        log.warning("ERP rejected message %s: %s", message.pk, ack.reason)
        return "rejected"
    elif message.attempts >= settings.ERP_MAX_ATTEMPTS:
        mine.update(
            status=M.DEAD,
            last_error=f"after {message.attempts} attempts: {ack.reason}",
            lease_until=None,
            claim_token=None,
        )
        report.dead += 1
        log.error(
            "message %s is a dead letter after %s attempts: %s", message.pk, message.attempts, ack.reason
        )
        return "dead"
    else:
        mine.update(
            status=M.PENDING,
            last_error=ack.reason,
            next_attempt_at=now + timedelta(seconds=backoff_seconds(message.attempts)),
            lease_until=None,
            claim_token=None,
        )
        report.retried += 1
        return "failed"


def outbox_deliver_due(
    *,
    limit: int | None = None,
    config: ErpConfig | None = None,
    on_full_batch: Callable[[], None] | None = None,
) -> DeliveryReport:
    """Deliver one batch of due messages to the configured ERP; nothing happens without one.

    `on_full_batch` is called after a full batch was claimed (before sending), so a task can
    enqueue its successor and another worker joins the drain.
    """
    limit = limit or settings.ERP_BATCH_SIZE
    config = config or erp_config()
    if config is None:
        return DeliveryReport(configured=False)
    messages = outbox_claim(limit=limit)
    report = DeliveryReport(claimed=len(messages))
    if not messages:
        return report
    if on_full_batch is not None and len(messages) == limit:
        on_full_batch()
    connector = connector_for(config)
    try:
        threads = min(settings.ERP_SEND_CONCURRENCY, len(messages))
        if threads > 1:
            with ThreadPoolExecutor(threads, thread_name_prefix="erp-send") as pool:
                acks = list(pool.map(lambda m: _send(connector, m), messages))
        else:
            acks = [_send(connector, m) for m in messages]
    finally:
        connector.close()
    now = timezone.now()
    with transaction.atomic():
        for message, ack in zip(messages, acks, strict=True):
            _record(message, ack, now, report)
    if report.dead:
        died = [m.pk for m in messages]
        transaction.on_commit(
            lambda: alert_dead_letters(list(OutboxMessage.objects.filter(pk__in=died, status=M.DEAD)))
        )
    return report


def outbox_reclaim_expired(*, now: datetime | None = None) -> int:
    """Return messages whose worker's lease ran out (a killed worker) to pending, or to dead."""
    now = now or timezone.now()
    expired = OutboxMessage.objects.filter(status=M.SENT, lease_until__lt=now)
    dead = expired.filter(attempts__gte=settings.ERP_MAX_ATTEMPTS).update(
        status=M.DEAD,
        lease_until=None,
        claim_token=None,
        last_error="the worker sending it stopped answering; attempts used up",
    )
    back = expired.update(
        status=M.PENDING,
        lease_until=None,
        claim_token=None,
        next_attempt_at=timezone.now(),
        last_error="reclaimed: the worker sending it stopped before recording the answer",
    )
    if dead or back:
        log.warning("reclaimed %s messages from expired leases (%s dead)", back, dead)
    if dead:
        transaction.on_commit(
            lambda: alert_dead_letters(
                dead, cause="The worker sending them stopped answering on the last attempt."
            )
        )
    return back + dead


def _lock(message_id: int) -> OutboxMessage:
    try:
        return OutboxMessage.objects.select_for_update().get(pk=message_id)
    except OutboxMessage.DoesNotExist:
        raise NotFound(
            gettext("No outbox message %(message_id)s.") % {"message_id": message_id}, field="message"
        ) from None


def _resolve(message_id: int, target: str, user: User, reason: str, verb: str) -> OutboxMessage:
    if not (reason or "").strip():
        raise ValidationFailed(
            gettext("Say why you %(verb)s this message.") % {"verb": verb}, field="reason", code="required"
        )
    message = _lock(message_id)
    if not can_transition(message.status, target) or message.status == M.SENT:
        done = gettext("skipped") if verb == "skip" else gettext("retried")
        raise IllegalTransition(
            gettext("Message %(id)s is %(status)s: it can't be %(done)s.")
            % {"id": message.pk, "status": message.get_status_display().lower(), "done": done},
            field="status",
        )
    message.status = target
    message._history_user = user
    message._change_reason = f"{verb}: {reason.strip()}"[:100]
    return message


@transaction.atomic
def outbox_retry(*, message_id: int, user: User, reason: str) -> OutboxMessage:
    """Send a rejected or dead message again, with the same key, from a fresh count of attempts.

    The message is due at once and goes with the next delivery; the caller asks for that delivery
    (`integration.delivery.nudge_delivery`) if it wants it now. The outbox services don't nudge
    themselves: the embedded deliverer that a nudge wakes calls them.
    """
    message = _resolve(message_id, M.PENDING, user, reason, "retry")
    message.attempts = 0
    message.next_attempt_at = timezone.now()
    message.save(update_fields=["status", "attempts", "next_attempt_at"])
    return message


@transaction.atomic
def outbox_skip(*, message_id: int, user: User, reason: str) -> OutboxMessage:
    """Give up on a message that the ERP will be told another way (e.g. booked by hand there)."""
    message = _resolve(message_id, M.SKIPPED, user, reason, "skip")
    message.save(update_fields=["status"])
    return message
