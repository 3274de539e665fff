"""Nonconformances: open (by hand, or automatically from an out-of-spec response) → investigating
→ dispositioned (quality, e-signed) → closed."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from mes.errors import Forbidden, ValidationFailed, full_clean
from mes.models import Site, User, Workstation
from mes.signatures import Meaning, signature_reauthenticate, signature_sign
from quality.live import announce
from quality.models import ChecklistResponse, ChecklistRun, Nonconformance
from quality.services.records import lock, require, save
from quality.services.requests import Done, run_once
from quality.states import (
    NONCONFORMANCE_TRANSITIONS,
    Disposition,
    NonconformanceStatus,
)
from workorders.models import WorkOrder, WorkOrderOperation

N = NonconformanceStatus


NUMBER_SEQUENCE = "quality_nonconformance_number_seq"  # quality/migrations/0005


def _next_number() -> str:
    """The next NC number. On PostgreSQL a sequence hands it out, so concurrent openings never
    draw the same one; on SQLite writers are serialised, so the highest so far plus one is free."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(%s)", [NUMBER_SEQUENCE])
            return f"NC-{cursor.fetchone()[0]:06d}"
    last = Nonconformance.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    number = last + 1
    while Nonconformance.objects.filter(number=f"NC-{number:06d}").exists():
        number += 1
    return f"NC-{number:06d}"


def _create(**fields) -> Nonconformance:
    """Number and save a nonconformance. The unique constraint has the last word: should a number
    be taken already (on SQLite, or one entered by hand), the save retries, in a savepoint, with
    the next one."""
    user = fields["opened_by"]
    for attempt in range(10):
        nc = Nonconformance(number=_next_number(), opened_at=timezone.now(), **fields)
        try:
            # The number is left to the constraint: a check here could pass and still race.
            full_clean(nc, exclude=["number"])
            with transaction.atomic():
                save(nc, user=user, reason=gettext_noop("Nonconformance opened"), clean=False)
            announce(nc)
            return nc
        except IntegrityError:
            if attempt == 9:
                raise
    raise AssertionError("unreachable")


def open_automatic(**fields) -> Nonconformance:
    """Open a nonconformance the system raised (an SPC signal, see `quality.services.spc`), inside
    the caller's transaction, numbered like any other."""
    return _create(automatic=True, **fields)


def open_for_response(*, response: ChecklistResponse, run: ChecklistRun, user: User) -> Nonconformance:
    """Open a nonconformance for an out-of-spec response, inside the submission's transaction."""
    item = response.item
    limits = " - ".join(
        f"{label} {value.normalize():f}"
        for label, value in (("LSL", item.lsl), ("USL", item.usl))
        if value is not None
    )
    where = f" on {run.work_order.number}" if run.work_order_id else ""
    return _create(
        site=run.workstation.line.site,
        title=f"{item.prompt} out of spec{where}: {response.display_value}",
        description=f"Checklist {run.template.code} v{run.version.version}: {response.display_value} "
        f"({limits} {item.unit}).".strip(),
        automatic=True,
        work_order_id=run.work_order_id,
        operation_id=run.operation_id,
        workstation_id=run.workstation_id,
        response=response,
        item=item,
        operator=response.recorded_by,
        opened_by=user,
    )


def nonconformance_open(
    *,
    key: uuid.UUID,
    user: User,
    site: Site,
    title: str,
    description: str = "",
    work_order: WorkOrder | None = None,
    operation: WorkOrderOperation | None = None,
    workstation: Workstation | None = None,
    lot_code: str = "",
) -> Done:
    """Open a nonconformance by hand (supervisor or quality), once per key."""
    require(user, "quality.add_nonconformance", _("Only a supervisor or quality may open a nonconformance."))
    if not (title or "").strip():
        raise ValidationFailed(_("Say what is wrong."), field="title", code="required")
    if operation is not None:
        work_order = operation.work_order
        workstation = workstation or operation.workstation

    def act() -> Nonconformance:
        return _create(
            site=site,
            title=title.strip()[:200],
            description=description,
            work_order=work_order,
            operation=operation,
            workstation=workstation,
            lot_code=(lot_code or "").strip(),
            opened_by=user,
        )

    request = {
        "site": site.pk,
        "title": title,
        "description": description,
        "lot": lot_code,
        "work_order": work_order.pk if work_order else None,
        "operation": operation.pk if operation else None,
    }
    return run_once(key, "nonconformance_open", request, act, user=user)


def _move(nc: Nonconformance, target: str, user: User, reason: str, fields: list[str]) -> None:
    NONCONFORMANCE_TRANSITIONS.require(nc.status, target, record=nc.number)
    nc.status = target
    save(nc, user=user, reason=reason, fields=["status", *fields])
    announce(nc)


@transaction.atomic
def nonconformance_investigate(*, nonconformance_id: int, user: User, note: str = "") -> Nonconformance:
    require(user, "quality.change_nonconformance", _("Only quality may investigate."))
    nc = lock(Nonconformance, nonconformance_id)
    if note.strip():
        nc.investigation_note = note.strip()
    _move(nc, N.INVESTIGATING, user, "Investigation started", ["investigation_note"])
    return nc


def nonconformance_disposition(
    *,
    nonconformance_id: int,
    user: User,
    disposition: str,
    note: str,
    password: str | None = None,
    badge_number: str | None = None,
    pin: str | None = None,
    request=None,
) -> Nonconformance:
    """Decide what happens to the nonconforming material, signed by a quality user (meaning
    "approved"); the signature covers the disposition and its note."""
    if not user.has_perm("quality.disposition_nonconformance"):
        raise Forbidden(_("Only quality may disposition a nonconformance."), code="not_allowed")
    if disposition not in Disposition.values:
        raise ValidationFailed(_("Choose a disposition."), field="disposition", code="unknown_disposition")
    if not (note or "").strip():
        raise ValidationFailed(_("Give the reason for the disposition."), field="note", code="required")
    reauth = signature_reauthenticate(
        signer=user, password=password, badge_number=badge_number, pin=pin, request=request
    )
    with transaction.atomic():
        nc = lock(Nonconformance, nonconformance_id)
        nc.disposition = disposition
        nc.disposition_note = note.strip()
        nc.dispositioned_by = user
        nc.dispositioned_at = timezone.now()
        _move(
            nc,
            N.DISPOSITIONED,
            user,
            f"Dispositioned: {Disposition(disposition).label}",
            ["disposition", "disposition_note", "dispositioned_by", "dispositioned_at"],
        )
        signature_sign(
            record=nc,
            signer=user,
            meaning=Meaning.APPROVED,
            reauth=reauth,
            comment=f"Disposition: {Disposition(disposition).label}",
        )
    return nc


@transaction.atomic
def nonconformance_close(*, nonconformance_id: int, user: User, note: str = "") -> Nonconformance:
    require(user, "quality.disposition_nonconformance", _("Only quality may close a nonconformance."))
    nc = lock(Nonconformance, nonconformance_id)
    nc.closed_by = user
    nc.closed_at = timezone.now()
    _move(nc, N.CLOSED, user, note or "Closed", ["closed_by", "closed_at"])
    return nc
