"""Handovers between shifts: the outgoing person leaves notes, the incoming person acknowledges.

A handover is written once and never edited; its history row records who wrote it and when.
Each carries the tablet's idempotency key, so a form sent twice (a double tap, a resend after the
network dropped the answer) is kept once. An acknowledgement is made at a workstation the
handover is meant for, by someone other than its author, once per person.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.errors import Conflict, Forbidden, NotFound, ValidationFailed, full_clean
from mes.models import User, Workstation
from mes.selectors import site_is_visible_to
from workorders.models import Handover, HandoverAcknowledgement

NOTE_MAX_LENGTH = 2000
SCOPES = ("workstation", "line")


def _clean_notes(notes: dict[str, str]) -> dict[str, str]:
    cleaned = {}
    for name in Handover.NOTES:
        text = (notes.get(name) or "").strip()
        label = Handover._meta.get_field(name).verbose_name
        if "\x00" in text:
            raise ValidationFailed(
                _("The %(label)s contain a character that can't be typed.") % {"label": label}, field=name
            )
        if len(text) > NOTE_MAX_LENGTH:
            raise ValidationFailed(
                _("Keep the %(label)s to %(limit)s characters (this has %(length)s).")
                % {"label": label, "limit": NOTE_MAX_LENGTH, "length": len(text)},
                field=name,
                code="too_long",
            )
        cleaned[name] = text
    if not any(cleaned.values()):
        raise ValidationFailed(
            _("Write at least one note: open issues, material, machine condition or quality watch-outs."),
            field=Handover.NOTES[0],
            code="required",
        )
    return cleaned


@transaction.atomic
def handover_leave(
    *, user: User, workstation: Workstation, scope: str, notes: dict[str, str], key: uuid.UUID
) -> Handover:
    """Leave a handover at `workstation` (scope "workstation") or for its whole line ("line").

    Guarantees: at least one note, none over NOTE_MAX_LENGTH; the person may reach the site;
    a repeated key returns the handover it made, and the same key with other notes is refused.
    """
    if scope not in SCOPES:
        raise ValidationFailed(_("Choose this workstation or the whole line."), field="scope", code="invalid")
    cleaned = _clean_notes(notes)
    if not site_is_visible_to(user, workstation.line.site):
        raise Forbidden(_("You are not assigned to this workstation's site."), field="workstation")
    for_workstation = workstation if scope == "workstation" else None
    existing = Handover.objects.filter(idempotency_key=key).first()
    if existing is not None:
        same = (
            existing.author_id == user.pk
            and existing.line_id == workstation.line_id
            and existing.workstation_id == (for_workstation.pk if for_workstation else None)
            and all(getattr(existing, name) == text for name, text in cleaned.items())
        )
        if not same:
            raise Conflict(
                _("This form was already used for another handover; reload the page and write it again."),
                field="idempotency_key",
                code="key_reused",
            )
        return existing
    handover = Handover(
        line=workstation.line,
        workstation=for_workstation,
        author=user,
        created_at=timezone.now(),
        idempotency_key=key,
        **cleaned,
    )
    full_clean(handover)
    handover._history_user = user
    handover._change_reason = f"Handover left at {workstation.code}"
    handover.save()
    return handover


def is_meant_for(handover: Handover, workstation: Workstation) -> bool:
    """A handover is read at its workstation, or at any workstation of its line."""
    return handover.line_id == workstation.line_id and handover.workstation_id in (None, workstation.pk)


@transaction.atomic
def handover_acknowledge(
    *, handover_id: int, user: User, workstation: Workstation
) -> HandoverAcknowledgement:
    """`user` read the handover at `workstation`. Refused for a handover not meant for this
    workstation and for its author; a second acknowledgement by the same person returns the first.
    """
    handover = Handover.objects.select_for_update().filter(pk=handover_id).first()
    if handover is None or not is_meant_for(handover, workstation):
        raise NotFound(_("No such handover at this workstation."), field="handover", code="unknown_handover")
    if handover.author_id == user.pk:
        raise Conflict(
            _("You left this handover; someone of the next shift acknowledges it."),
            field="handover",
            code="own_handover",
        )
    existing = HandoverAcknowledgement.objects.filter(handover=handover, user=user).first()
    if existing is not None:
        return existing
    acknowledgement = HandoverAcknowledgement(
        handover=handover, user=user, workstation=workstation, acknowledged_at=timezone.now()
    )
    full_clean(acknowledgement)
    acknowledgement._history_user = user
    acknowledgement._change_reason = f"Handover read at {workstation.code}"
    acknowledgement.save()
    return acknowledgement
