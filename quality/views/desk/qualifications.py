"""Qualifications at the desk: the list, grant one with an e-signature, revoke one with a reason;
and for supervisors, which operators still have to read which SOP and whose Start was refused."""

from __future__ import annotations

import re

from django import forms
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mes.errors import MesError
from mes.permissions import permission_required
from quality import people
from quality.services.qualifications import GRANT, qualification_grant, qualification_revoke
from quality.views._helpers import done
from quality.views.desk.common import refuse
from quality.views.desk.forms import DeskForm, SigningForm

PAGE = "quality/qualifications.html"
_ID = re.compile(r"[0-9]{1,12}")


def _text() -> forms.CharField:
    return forms.CharField(required=False, strip=False)


class QualificationGrantForm(SigningForm):
    person = _text()
    workstation = _text()
    valid_until = _text()


class QualificationRevokeForm(DeskForm):
    reason = _text()


def _context(request, **forms) -> dict:
    return {
        "qualifications": people.qualifications_visible_to(request.user),
        "workstations": people.workstations_visible_to(request.user),
        "operators": people.operators_visible_to(request.user),
        "grant_form": QualificationGrantForm(),
        "revoke_forms": {},  # the qualification whose revocation was refused: its form as typed
        **forms,
    }


@require_safe
@permission_required("quality.view_qualification")
def qualifications(request):
    return render(request, PAGE, _context(request))


@require_POST
@permission_required(GRANT)
def qualification_grant_view(request):
    form = QualificationGrantForm(request.POST)
    try:
        data = form.checked()
        qualification = qualification_grant(
            user=request.user,
            person_id=_number(data["person"]),
            workstation_id=_number(data["workstation"]),
            valid_until=data["valid_until"],
            password=data["password"],
            request=request,
        )
    except MesError as exc:
        return refuse(request, form, exc, page=PAGE, partial="grant_form", context=_context(request))
    return done(
        request,
        _("%(person)s is qualified on %(workstation)s.")
        % {"person": qualification.user.printed_name, "workstation": qualification.workstation.code},
        reverse("quality_qualifications"),
    )


@require_POST
@permission_required(GRANT)
def qualification_revoke_view(request, pk: int):
    qualification = get_object_or_404(people.qualifications_visible_to(request.user), pk=pk)
    form = QualificationRevokeForm(request.POST)
    try:
        data = form.checked()
        qualification_revoke(user=request.user, qualification_id=qualification.pk, reason=data["reason"])
    except MesError as exc:
        context = _context(request, qualification=qualification, revoke_forms={qualification.pk: form})
        return refuse(request, form, exc, page=PAGE, partial="revoke_form", context=context)
    return done(request, _("Qualification revoked."), reverse("quality_qualifications"))


@require_safe
@permission_required("quality.view_sopacknowledgement")
def sops_unread(request):
    """Who still has to read what, and (for those who may see them) the Starts lately refused for
    want of a qualification or a read SOP."""
    context = {"unread": people.sops_unread(request.user), "may_see_refusals": False}
    if request.user.has_perm("quality.view_startrefusal"):
        context.update(may_see_refusals=True, refusals=people.refused_starts_visible_to(request.user))
    return render(request, "quality/sops_unread.html", context)


def _number(value: str) -> int | None:
    """A posted id, or None (the service then refuses with the field: no such person...)."""
    value = (value or "").strip()
    return int(value) if _ID.fullmatch(value) else None
