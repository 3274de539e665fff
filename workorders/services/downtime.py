"""Downtime at a workstation: opened with a reason, closed when the station runs again.

Each appends its ledger event and keeps the `Downtime` row (the projection OEE reads) in the same
transaction, once per idempotency key; a workstation has at most one open downtime.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.utils.translation import gettext as _

from mes.errors import Conflict
from mes.models import User, Workstation
from workorders.models import Downtime, ProductionEvent
from workorders.services.events import append_event, clean_occurred_at, clean_reason
from workorders.services.idempotency import Recorded, run_once
from workorders.states import EventKind, ReasonKind


def _lock_workstation(workstation: Workstation) -> Workstation:
    return Workstation.objects.select_for_update(of=("self",)).select_related("line").get(pk=workstation.pk)


def downtime_start(
    *,
    workstation: Workstation,
    user: User,
    reason,
    key: uuid.UUID,
    note: str = "",
    occurred_at: datetime | None = None,
) -> Recorded:
    """Open a downtime at a workstation; refused while another is open there."""
    at = clean_occurred_at(occurred_at)
    reason = clean_reason(reason, ReasonKind.DOWNTIME)

    def act(fp: str) -> ProductionEvent:
        station = _lock_workstation(workstation)
        if Downtime.objects.filter(workstation=station, ended_at__isnull=True).exists():
            raise Conflict(
                _("%(code)s already has an open downtime; end it first.") % {"code": station.code},
                field="workstation",
                code="downtime_open",
            )
        event = append_event(
            kind=EventKind.DOWNTIME_START,
            key=key,
            request_fingerprint=fp,
            user=user,
            occurred_at=at,
            workstation=station,
            reason=reason,
            note=note[:500],
            data={"planned": reason.planned},
        )
        downtime = Downtime(
            workstation=station, reason=reason, planned=reason.planned, started_at=at, start_event=event
        )
        downtime._history_user = user
        downtime._change_reason = f"Downtime started: {reason.code}"
        downtime.save()
        return event

    return run_once(
        key,
        {"action": "downtime_start", "workstation": workstation.pk, "reason": reason.code},
        act,
        user=user,
    )


def downtime_end(
    *, workstation: Workstation, user: User, key: uuid.UUID, occurred_at: datetime | None = None
) -> Recorded:
    """Close the open downtime of a workstation."""
    at = clean_occurred_at(occurred_at)

    def act(fp: str) -> ProductionEvent:
        station = _lock_workstation(workstation)
        downtime = Downtime.objects.filter(workstation=station, ended_at__isnull=True).first()
        if downtime is None:
            raise Conflict(
                _("%(code)s has no open downtime.") % {"code": station.code},
                field="workstation",
                code="no_open_downtime",
            )
        ended = max(at, downtime.started_at)
        event = append_event(
            kind=EventKind.DOWNTIME_END,
            key=key,
            request_fingerprint=fp,
            user=user,
            occurred_at=ended,
            workstation=station,
            reason=downtime.reason,
            data={"downtime": downtime.pk},
        )
        Downtime.objects.filter(pk=downtime.pk).update(ended_at=ended, end_event=event)
        return event

    return run_once(key, {"action": "downtime_end", "workstation": workstation.pk}, act, user=user)
