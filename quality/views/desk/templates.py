"""Checklist templates at the desk: the list, and a new checklist (its first draft version)."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mes.errors import MesError
from mes.permissions import permission_required
from mes.selectors import sites_visible_to
from quality import services
from quality.models import ChecklistTemplate
from quality.views._helpers import done
from quality.views.desk.common import AUTHOR, refuse, site_of
from quality.views.desk.forms import TemplateCreateForm

PAGE = "quality/templates.html"


def _context(request, **forms) -> dict:
    found = (
        ChecklistTemplate.objects.filter(site__in=sites_visible_to(request.user))
        .select_related("site")
        .prefetch_related("versions")
    )
    return {
        "templates": found,
        "sites": sites_visible_to(request.user),
        "create_form": TemplateCreateForm(),
        **forms,
    }


@permission_required("quality.view_checklisttemplate")
def templates(request):
    return render(request, PAGE, _context(request))


@require_POST
@permission_required(AUTHOR)
def template_create(request):
    form = TemplateCreateForm(request.POST)
    try:
        data = form.checked()
        version = services.template_create(
            site=site_of(request),
            code=data["code"],
            title=data["title"],
            description=data["description"],
            signature_required=data["signature_required"],
            user=request.user,
        )
    except MesError as exc:
        return refuse(request, form, exc, page=PAGE, partial="create_form", context=_context(request))
    return done(request, _("Checklist created."), reverse("quality_version", args=[version.pk]))
