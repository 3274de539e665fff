"""Qualifications: quality grants a person the right to work at a workstation until a date, with
an e-signature, and revokes it with a reason. The Start guard (`quality.guards`) reads them."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from mes.errors import Conflict, NotFound, ValidationFailed
from mes.models import User, Workstation
from mes.selectors import site_is_visible_to
from mes.signatures import Meaning, signature_reauthenticate, signature_sign
from quality.models import Qualification
from quality.services.records import lock, require, save

GRANT = "quality.grant_qualification"


def _valid_until(value, *, today: date) -> date:
    if isinstance(value, date):
        parsed = value
    else:
        try:
            parsed = parse_date((value or "").strip())
        except ValueError:
            parsed = None
    if parsed is None:
        raise ValidationFailed(_("Enter the last valid day as a date."), field="valid_until", code="invalid")
    if parsed <= today:
        raise ValidationFailed(
            _("The expiry must be a day after today."), field="valid_until", code="in_past"
        )
    return parsed


def _workstation(user: User, workstation_id) -> Workstation:
    if workstation_id is None:
        raise ValidationFailed(_("Choose a workstation."), field="workstation", code="required")
    station = Workstation.objects.select_related("line__site").filter(pk=workstation_id).first()
    if station is None or not site_is_visible_to(user, station.line.site_id):
        raise NotFound(_("No such workstation."), field="workstation", code="unknown_workstation")
    return station


def _person(user: User, person_id, station: Workstation) -> User:
    if person_id is None:
        raise ValidationFailed(_("Choose a person."), field="person", code="required")
    person = User.objects.filter(pk=person_id, is_active=True).first()
    if person is None or not site_is_visible_to(user, station.line.site_id):
        raise NotFound(_("No such person."), field="person", code="unknown_person")
    if not site_is_visible_to(person, station.line.site_id):
        raise ValidationFailed(
            _("%(person)s does not work at site %(site)s.")
            % {"person": person.printed_name, "site": station.line.site.code},
            field="person",
            code="other_site",
        )
    return person


def qualification_grant(
    *, user: User, person_id: int, workstation_id: int, valid_until, password: str | None, request=None
) -> Qualification:
    """Qualify a person on a workstation until `valid_until` (a day after today at the site),
    signed by the granting quality engineer (meaning "approved", re-entering their password).

    Guarantees: every input is checked before anything is written; the qualification and its
    signature are written together or not at all."""
    require(user, GRANT, _("Only quality may grant qualifications."))
    station = _workstation(user, workstation_id)
    person = _person(user, person_id, station)
    today = timezone.now().astimezone(station.line.site.tzinfo).date()
    until = _valid_until(valid_until, today=today)
    if not password:
        raise ValidationFailed(_("Enter your password to sign."), field="password", code="required")
    # Re-authenticate before the transaction: a wrong password is recorded even though refused.
    reauth = signature_reauthenticate(signer=user, password=password, request=request)
    with transaction.atomic():
        qualification = Qualification(
            user=person, workstation=station, valid_until=until, granted_by=user, granted_at=timezone.now()
        )
        save(qualification, user=user, reason=f"Qualified until {until:%Y-%m-%d}")
        signature_sign(record=qualification, signer=user, meaning=Meaning.APPROVED, reauth=reauth)
    return qualification


@transaction.atomic
def qualification_revoke(*, user: User, qualification_id: int, reason: str) -> Qualification:
    """Withdraw a qualification from now on, saying why; it stays as the record of the past."""
    require(user, GRANT, _("Only quality may revoke qualifications."))
    reason = (reason or "").strip()
    qualification = lock(Qualification, qualification_id, "workstation__line")
    if not site_is_visible_to(user, qualification.workstation.line.site_id):
        raise NotFound(_("No such qualification."), code="not_found")
    if not reason:
        raise ValidationFailed(_("Say why the qualification is revoked."), field="reason", code="required")
    if qualification.revoked_at is not None:
        raise Conflict(_("The qualification is revoked already."), field="qualification", code="revoked")
    qualification.revoked_at = timezone.now()
    qualification.revoked_by = user
    qualification.revoke_reason = reason[:500]
    save(qualification, user=user, reason=f"Revoked: {reason}")
    return qualification
