"""The lifecycle shared by checklist template versions and SOP versions:
draft → in review → approved (e-signed) → effective → retired.

Only a draft changes; a change to an approved, effective or retired version makes a new draft
version, a copy of the latest. Approval needs the approve permission, a signature with meaning
"approved", and, where the site says so, someone other than the version's author.
"""

from __future__ import annotations

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from mes.errors import Conflict, Forbidden, ValidationFailed
from mes.models import User
from mes.signatures import Meaning, signature_reauthenticate, signature_sign
from quality.models import QualitySettings
from quality.services.records import lock, save
from quality.states import FROZEN, VERSION_TRANSITIONS, VersionStatus

V = VersionStatus


def check_transition(version, target: str) -> None:
    VERSION_TRANSITIONS.require(
        version.status, target, record=_("Version %(version)s") % {"version": version.version}
    )


def check_editable(version) -> None:
    if version.status in FROZEN:
        raise Conflict(
            _("Version %(version)s is %(status)s: make a new draft version to change it.")
            % {"version": version.version, "status": version.get_status_display().lower()},
            field="version",
            code="version_frozen",
        )
    if version.status == V.IN_REVIEW:
        raise Conflict(
            _("Version %(version)s is in review: return it to draft to change it.")
            % {"version": version.version},
            field="version",
            code="version_in_review",
        )


def second_person_required(site) -> bool:
    settings_row = QualitySettings.objects.filter(site=site).first()
    return bool(settings_row and settings_row.second_person_approval)


def move(version, *, target: str, user: User, reason: str) -> None:
    """Move a locked version; inside the caller's transaction."""
    check_transition(version, target)
    now = timezone.now()
    version.status = target
    fields = ["status"]
    stamp = {
        V.IN_REVIEW: "submitted_at",
        V.APPROVED: "approved_at",
        V.EFFECTIVE: "effective_at",
        V.RETIRED: "retired_at",
    }
    if target in stamp and hasattr(version, stamp[target]):
        setattr(version, stamp[target], now)
        fields.append(stamp[target])
    if target == V.APPROVED:
        version.approved_by = user
        fields.append("approved_by")
    save(version, user=user, reason=reason, fields=fields)


def approve(
    *,
    model: type[models.Model],
    version_id: int,
    site_of,
    user: User,
    permission: str,
    password: str | None = None,
    badge_number: str | None = None,
    pin: str | None = None,
    comment: str = "",
    request=None,
):
    """Approve a version in review with an e-signature (meaning "approved")."""
    if not user.has_perm(permission):
        raise Forbidden(_("%(person)s may not approve.") % {"person": user.printed_name}, code="not_allowed")
    # Re-authenticate before the transaction: a wrong password is recorded even though refused.
    reauth = signature_reauthenticate(
        signer=user, password=password, badge_number=badge_number, pin=pin, request=request
    )
    with transaction.atomic():
        version = lock(model, version_id)
        check_transition(version, V.APPROVED)
        if second_person_required(site_of(version)) and version.created_by_id == user.pk:
            raise ValidationFailed(
                _("This site requires a second person to approve: you authored this version."),
                field="approved_by",
                code="second_person_required",
            )
        move(version, target=V.APPROVED, user=user, reason=comment or "Approved")
        signature_sign(record=version, signer=user, meaning=Meaning.APPROVED, reauth=reauth, comment=comment)
    return version


def make_effective(*, model: type[models.Model], version_id: int, parent_field: str, user: User):
    """Make an approved version the one the floor uses; the previous effective version retires."""
    with transaction.atomic():
        version = lock(model, version_id)
        check_transition(version, V.EFFECTIVE)
        current = (
            model.objects.select_for_update()
            .filter(**{parent_field: getattr(version, f"{parent_field}_id")}, status=V.EFFECTIVE)
            .first()
        )
        if current is not None:
            move(current, target=V.RETIRED, user=user, reason=f"Superseded by version {version.version}")
        move(version, target=V.EFFECTIVE, user=user, reason=gettext_noop("Made effective"))
    return version
