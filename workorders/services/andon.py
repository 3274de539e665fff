"""Andon: a call for help from a workstation, acknowledged and resolved by a supervisor.

Each action is one transaction that also updates the workstation's status row; after commit the
line's sequence number is raised and the dashboards get the delta.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from mes.errors import Conflict, Forbidden, ValidationFailed
from mes.idempotency import Earlier, fingerprint, run_once
from mes.models import User, Workstation
from mes.selectors import sites_visible_to
from workorders.live.broadcast import schedule_delta
from workorders.live.models import AndonCall
from workorders.live.projection import refresh_andon_count
from workorders.live.states import ANDON_TRANSITIONS, AndonKind, AndonStatus


def _changed(call: AndonCall, at: datetime) -> None:
    refresh_andon_count(call.workstation)
    schedule_delta(
        line_id=call.line_id,
        site_id=call.workstation.line.site_id,
        workstations=[call.workstation_id],
        andon={"id": call.pk, "status": call.status, "kind": call.kind, "at": at.isoformat()},
    )


def andon_raise(
    *,
    workstation: Workstation,
    user: User,
    kind: str,
    key: uuid.UUID,
    note: str = "",
    source: str = "tablet",
    raised_at: datetime | None = None,
) -> AndonCall:
    """Raise a call at a workstation, once per idempotency key: a retry by the same person
    returns the first call; the key of another person, or the same key for another call, is a
    409 (`mes.idempotency.run_once`).

    One call of a kind stays open per workstation: raising it again while it is open returns
    the open call instead of adding a second one.
    """
    if kind not in AndonKind.values:
        raise ValidationFailed(
            _("Choose help, material, quality or maintenance."), field="kind", code="unknown_kind"
        )
    note = note[:500]
    at = raised_at or timezone.now()

    def act(_fingerprint: str) -> AndonCall:
        # Serialises raises at the workstation, so one call of a kind stays open there.
        Workstation.objects.select_for_update().filter(pk=workstation.pk).first()
        already = AndonCall.objects.filter(
            workstation=workstation, kind=kind, status__in=[AndonStatus.OPEN, AndonStatus.ACKNOWLEDGED]
        ).first()
        if already is not None:
            return already
        call = AndonCall(
            workstation=workstation,
            line_id=workstation.line_id,
            kind=kind,
            note=note,
            source=source,
            idempotency_key=key,
            raised_by=user,
            raised_at=at,
        )
        call.full_clean()
        call._history_user = user
        call._change_reason = f"Raised from the {source}"
        call.save()
        _changed(call, at)
        return call

    return run_once(
        key=key,
        author=user,
        request=_raise_request(workstation.pk, kind, note),
        act=act,
        recorded=_recorded_raise,
        look_first=True,
    ).result


def _raise_request(workstation_id: int, kind: str, note: str) -> dict:
    return {"action": "andon_raise", "workstation": workstation_id, "kind": kind, "note": note}


def _recorded_raise(key: uuid.UUID) -> Earlier[AndonCall] | None:
    """A call keeps everything its request said, so its key's fingerprint is rebuilt from it."""
    call = AndonCall.objects.filter(idempotency_key=key).first()
    if call is None:
        return None
    request = _raise_request(call.workstation_id, call.kind, call.note)
    return Earlier(author_id=call.raised_by_id, fingerprint=fingerprint(request), result=call)


def _move(call_id: int, user: User, target: str) -> tuple[AndonCall, bool]:
    call = (
        AndonCall.objects.select_for_update(of=("self",))
        .select_related("workstation__line")
        .filter(pk=call_id)
        .first()
    )
    if call is None:
        raise ValidationFailed(_("No such andon call."), field="call", code="unknown_call")
    if not user.has_perm("workorders.change_andoncall") or not (
        sites_visible_to(user).filter(pk=call.workstation.line.site_id).exists()
    ):
        raise Forbidden(_("You may not answer andon calls here."), code="andon_not_allowed")
    if call.status == target:
        return call, False  # a double click or a retry: already done
    if target not in ANDON_TRANSITIONS[call.status]:
        raise Conflict(
            _("The call is already %(status)s.") % {"status": call.get_status_display().lower()},
            code="andon_closed",
        )
    return call, True


def _answered_at(call: AndonCall, at: datetime | None) -> datetime:
    """When the call was answered: now, or `at` for an answer recorded afterwards, which must lie
    between the call's last step (raised, or acknowledged) and now."""
    now = timezone.now()
    earliest = call.acknowledged_at or call.raised_at
    if at is None:
        return max(now, earliest)
    if timezone.is_naive(at):
        raise ValidationFailed(_("The time must include its time zone."), field="at", code="naive_time")
    if not earliest <= at <= now:
        raise ValidationFailed(
            _("The time must lie between the call's last step and now."), field="at", code="time_out_of_range"
        )
    return at


@transaction.atomic
def andon_acknowledge(*, call_id: int, user: User, at: datetime | None = None) -> AndonCall:
    """A supervisor takes the call: its response time is recorded. Acknowledging twice is a no-op.
    `at`, for an answer recorded afterwards: when it was acknowledged."""
    call, moving = _move(call_id, user, AndonStatus.ACKNOWLEDGED)
    if moving:
        call.status = AndonStatus.ACKNOWLEDGED
        call.acknowledged_by, call.acknowledged_at = user, _answered_at(call, at)
        call._history_user = user
        call._change_reason = gettext_noop("Acknowledged")
        call.save()
        _changed(call, call.acknowledged_at)
    return call


@transaction.atomic
def andon_resolve(*, call_id: int, user: User, at: datetime | None = None) -> AndonCall:
    """Close the call: its resolution time is recorded (and the response time, if not yet).
    `at`, for an answer recorded afterwards: when it was resolved."""
    call, moving = _move(call_id, user, AndonStatus.RESOLVED)
    if moving:
        now = _answered_at(call, at)
        if call.acknowledged_at is None:
            call.acknowledged_by, call.acknowledged_at = user, now
        call.status = AndonStatus.RESOLVED
        call.resolved_by, call.resolved_at = user, now
        call._history_user = user
        call._change_reason = gettext_noop("Resolved")
        call.save()
        _changed(call, now)
    return call


@transaction.atomic
def andon_resolve_machine(*, workstation: Workstation, kind: str, user: User) -> int:
    """A machine cleared its alarm: resolve its open machine calls of that kind; returns how many."""
    calls = list(
        AndonCall.objects.select_for_update().filter(
            workstation=workstation,
            kind=kind,
            source="machine",
            status__in=[AndonStatus.OPEN, AndonStatus.ACKNOWLEDGED],
        )
    )
    now = timezone.now()
    for call in calls:
        if call.acknowledged_at is None:
            call.acknowledged_by, call.acknowledged_at = user, now
        call.status = AndonStatus.RESOLVED
        call.resolved_by, call.resolved_at = user, now
        call._history_user = user
        call._change_reason = gettext_noop("Alarm cleared by the machine")
        call.save()
        _changed(call, now)
    return len(calls)
