"""Files of quality records (SOP PDFs and images, checklist help images, response photos).

Served to people allowed to see the record, from the site they may see; never from a public
media folder.
"""

from __future__ import annotations

import os

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from mes.selectors import sites_visible_to
from quality.models import ChecklistItem, ChecklistResponse, SopImage, SopVersion

SOP_READERS = ("quality.view_sopdocument", "quality.acknowledge_sop")
CHECKLIST_READERS = ("quality.view_checklisttemplate", "quality.fill_checklist")
RESULT_READERS = ("quality.view_checklistrun", "quality.fill_checklist")


def _allowed(user, perms: tuple[str, ...], site_id: int) -> None:
    if not any(user.has_perm(p) for p in perms):
        raise PermissionDenied
    if not sites_visible_to(user).filter(pk=site_id).exists():
        raise Http404(_("No such file."))


def _send(field_file, *, inline: bool = True) -> FileResponse:
    if not field_file:
        raise Http404(_("No such file."))
    try:
        handle = field_file.open("rb")
    except FileNotFoundError:
        raise Http404(_("The file is missing from storage.")) from None
    response = FileResponse(handle, as_attachment=not inline, filename=os.path.basename(field_file.name))
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@login_required
def sop_pdf(request, pk: int):
    version = get_object_or_404(SopVersion.objects.select_related("document"), pk=pk)
    _allowed(request.user, SOP_READERS, version.document.site_id)
    return _send(version.pdf)


@require_GET
@login_required
def sop_image(request, pk: int):
    image = get_object_or_404(SopImage.objects.select_related("version__document"), pk=pk)
    _allowed(request.user, SOP_READERS, image.version.document.site_id)
    return _send(image.image)


@require_GET
@login_required
def help_image(request, pk: int):
    item = get_object_or_404(ChecklistItem.objects.select_related("version__template"), pk=pk)
    _allowed(request.user, CHECKLIST_READERS, item.version.template.site_id)
    return _send(item.help_image)


@require_GET
@login_required
def response_photo(request, pk: int):
    response = get_object_or_404(ChecklistResponse.objects.select_related("run__workstation__line"), pk=pk)
    _allowed(request.user, RESULT_READERS, response.run.workstation.line.site_id)
    return _send(response.photo)


urlpatterns = [
    path("quality/files/sop/<int:pk>.pdf", sop_pdf, name="quality_sop_pdf"),
    path("quality/files/sop-images/<int:pk>/", sop_image, name="quality_sop_image"),
    path("quality/files/help/<int:pk>/", help_image, name="quality_help_image"),
    path("quality/files/photos/<int:pk>/", response_photo, name="quality_response_photo"),
]
