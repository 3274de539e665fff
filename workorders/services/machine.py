"""Machines report their own state and counts (over MQTT): these turn reports into production.

A machine's counters are cumulative. The difference from the last report becomes a good or a
scrap count at the operation running at the workstation; a counter that goes backwards is
recorded as a counter reset (the machine restarted: its new value is what it made since). Every
report carries an id: the ids of recent reports are kept, so a redelivered report counts once,
and the ledger key is derived from the id, so even a lost memory of it cannot count twice.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from mes.errors import MesError, ValidationFailed
from mes.models import User, Workstation
from workorders.live.models import MachineCounter
from workorders.live.states import LiveState
from workorders.models import Downtime, WorkOrderOperation
from workorders.services.downtime import downtime_end, downtime_start
from workorders.services.operations import operation_record_good, operation_record_scrap
from workorders.states import WORKABLE, OperationStatus

logger = logging.getLogger(__name__)

NAMESPACE = uuid.UUID("6f1d3c52-8d0e-4d8b-9a57-2f4b7f0c9e11")
RECENT_IDS = 500
MACHINE_USERNAME = "machine"
# The downtime reason a machine state opens when the report names none.
STATE_REASONS = {
    LiveState.DOWN: "BREAKDOWN",
    LiveState.SETUP: "TOOL-CHANGE",
    LiveState.BLOCKED: "BLOCKED",
    LiveState.OFFLINE: "OFFLINE",
}
DEFAULT_SCRAP_REASON = "MACHINE-REJECT"


def machine_key(workstation: Workstation, purpose: str, message_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{workstation.pk}:{purpose}:{message_id}")


def machine_user() -> User:
    """The user machine reports are recorded under (made on first use, cannot sign in)."""
    user = User.objects.filter(username=MACHINE_USERNAME).first()
    if user is None:
        try:
            with transaction.atomic():
                user = User(username=MACHINE_USERNAME, first_name="Machine", last_name="data")
                user.set_unusable_password()
                user._change_reason = gettext_noop("Machine data user")
                user.save()
        except IntegrityError:
            user = User.objects.get(username=MACHINE_USERNAME)
    return user


@dataclass(frozen=True)
class CountSample:
    message_id: str
    good: Decimal | None = None
    scrap: Decimal | None = None
    scrap_reason: str = ""


@dataclass
class CountResult:
    applied: int = 0
    duplicates: int = 0
    resets: int = 0
    good: Decimal = Decimal(0)
    scrap: Decimal = Decimal(0)
    unassigned: Decimal = Decimal(0)
    refused: list[str] = field(default_factory=list)


def _running_operation(workstation: Workstation) -> WorkOrderOperation | None:
    return (
        WorkOrderOperation.objects.filter(
            workstation=workstation, status=OperationStatus.RUNNING, work_order__status__in=WORKABLE
        )
        .order_by("-started_at", "-pk")
        .first()
    )


def _lock_counter(workstation: Workstation) -> MachineCounter:
    counter = MachineCounter.objects.select_for_update().filter(pk=workstation.pk).first()
    if counter is None:
        try:
            with transaction.atomic():
                MachineCounter.objects.create(workstation=workstation)
        except IntegrityError:
            pass
        counter = MachineCounter.objects.select_for_update().get(pk=workstation.pk)
    return counter


def _increment(total: Decimal, reported: Decimal | None) -> tuple[Decimal, Decimal, bool]:
    """(new total, increment, reset?) for a reported cumulative counter."""
    if reported is None:
        return total, Decimal(0), False
    if reported < 0:
        raise ValidationFailed(_("A counter is never negative."), field="count", code="negative_counter")
    if reported < total:
        return reported, reported, True
    return reported, reported - total, False


@transaction.atomic
def machine_counts_record(*, workstation: Workstation, samples: list[CountSample], user: User) -> CountResult:
    """Apply a machine's counter reports in order, in one transaction.

    Consecutive reports are summed into one good and one scrap event at the running operation
    (keyed by the last report's id). Counts made while no operation runs, or refused by the
    operation (over the order quantity, order on hold), are kept as unassigned on the counter and
    logged: the counter still moves on, so they are not counted again later.
    """
    result = CountResult()
    counter = _lock_counter(workstation)
    recent = list(counter.recent_ids)
    seen = set(recent)
    last_id = ""
    scrap_reason = ""
    for sample in samples:
        if sample.message_id in seen:
            result.duplicates += 1
            continue
        new_good, good, reset_good = _increment(counter.good_total, sample.good)
        new_scrap, scrap, reset_scrap = _increment(counter.scrap_total, sample.scrap)
        if reset_good or reset_scrap:
            # A machine restart zeroes all its counters: what it reports is what it made since.
            good = sample.good if sample.good is not None else Decimal(0)
            scrap = sample.scrap if sample.scrap is not None else Decimal(0)
        counter.good_total, counter.scrap_total = new_good, new_scrap
        if reset_good or reset_scrap:
            result.resets += 1
            counter.resets += 1
            counter.last_reset_at = timezone.now()
            logger.warning("counter reset at %s (report %s)", workstation, sample.message_id)
        result.good += good
        result.scrap += scrap
        result.applied += 1
        recent.append(sample.message_id)
        seen.add(sample.message_id)
        last_id = sample.message_id
        scrap_reason = sample.scrap_reason or scrap_reason
    if not result.applied:
        return result
    counter.recent_ids = recent[-RECENT_IDS:]
    counter.last_message_at = timezone.now()
    operation = _running_operation(workstation) if (result.good or result.scrap) else None
    for quantity, book in ((result.good, "good"), (result.scrap, "scrap")):
        if not quantity:
            continue
        if operation is None:
            result.unassigned += quantity
            continue
        common = {
            "operation_id": operation.pk,
            "workstation": workstation,
            "user": user,
            "quantity": quantity,
            "key": machine_key(workstation, book, last_id),
        }
        try:
            with transaction.atomic():
                if book == "good":
                    operation_record_good(**common)
                else:
                    operation_record_scrap(reason=scrap_reason or DEFAULT_SCRAP_REASON, **common)
        except MesError as exc:
            result.unassigned += quantity
            result.refused.append(f"{book} {quantity}: {exc}")
            logger.warning("machine count at %s not booked: %s", workstation, exc)
    counter.unassigned += result.unassigned
    counter.save()
    return result


def machine_state_record(
    *, workstation: Workstation, state: str, message_id: str, user: User, reason: str = ""
) -> str:
    """Apply a machine's state report: running or idle closes open downtime; down, setup, blocked
    and offline open one (with the report's reason code, else the state's default). Returns what
    it did: "opened", "closed", "changed" or "unchanged"."""
    if state not in LiveState.values:
        raise ValidationFailed(
            _("Unknown machine state %(state)s.") % {"state": repr(state)},
            field="state",
            code="unknown_state",
        )
    with transaction.atomic():
        open_downtime = (
            Downtime.objects.filter(workstation=workstation, ended_at__isnull=True)
            .select_related("reason")
            .first()
        )
        if state in (LiveState.RUNNING, LiveState.IDLE):
            if open_downtime is None:
                return "unchanged"
            downtime_end(
                workstation=workstation, user=user, key=machine_key(workstation, "state-end", message_id)
            )
            return "closed"
        code = reason or STATE_REASONS[state]
        if open_downtime is not None and open_downtime.reason.code == code:
            return "unchanged"
        if open_downtime is not None:
            downtime_end(
                workstation=workstation, user=user, key=machine_key(workstation, "state-end", message_id)
            )
        downtime_start(
            workstation=workstation,
            user=user,
            reason=code,
            key=machine_key(workstation, "state-start", message_id),
            note="Reported by the machine",
        )
        return "changed" if open_downtime is not None else "opened"
