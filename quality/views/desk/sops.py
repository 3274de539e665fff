"""SOP documents at the desk: the list, a new SOP, one version and its lifecycle, one view per verb
(update, add an image, send to review, approve with an e-signature, make effective, new draft,
show at an operation, the title in other languages)."""

from __future__ import annotations

from collections.abc import Callable

from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mes.errors import MesError
from mes.forms import posted_id
from mes.permissions import permission_required
from mes.selectors import sites_visible_to
from mes.signatures import manifestations
from quality import services
from quality.models import SopDocument, SopVersion
from quality.views._helpers import done
from quality.views.desk.common import do_verb, refuse, site_of
from quality.views.desk.forms import (
    ApproveForm,
    DeskForm,
    ReasonForm,
    SopAttachForm,
    SopCreateForm,
    SopImageForm,
    SopUpdateForm,
    TitleTranslationsForm,
)
from workorders.models import RoutingOperation

PAGE = "quality/sops.html"
VERSION_PAGE = "quality/sop.html"


def _context(request, **forms) -> dict:
    documents = SopDocument.objects.filter(site__in=sites_visible_to(request.user)).prefetch_related(
        "versions"
    )
    return {
        "documents": documents,
        "sites": sites_visible_to(request.user),
        "create_form": SopCreateForm(),
        **forms,
    }


@permission_required("quality.view_sopdocument")
def sops(request):
    return render(request, PAGE, _context(request))


@require_POST
@permission_required("quality.author_sop")
def sop_create(request):
    form = SopCreateForm(request.POST)
    try:
        data = form.checked()
        version = services.sop_create(
            site=site_of(request),
            code=data["code"],
            title=data["title"],
            body=data["body"],
            pdf=request.FILES.get("pdf"),
            user=request.user,
        )
    except MesError as exc:
        return refuse(request, form, exc, page=PAGE, partial="create_form", context=_context(request))
    return done(request, _("SOP created."), reverse("quality_sop_version", args=[version.pk]))


def _sop_version_or_404(request, pk: int) -> SopVersion:
    return get_object_or_404(
        SopVersion.objects.filter(document__site__in=sites_visible_to(request.user)).select_related(
            "document"
        ),
        pk=pk,
    )


@permission_required("quality.view_sopdocument")
def sop_version(request, pk: int):
    return render(request, VERSION_PAGE, _version_context(_sop_version_or_404(request, pk)))


@require_POST
@permission_required("quality.view_sopdocument")
def sop_titles(request, pk: int):
    """The SOP's title in other languages."""

    def act(version, data, form):
        services.title_translate(
            model=SopDocument, pk=version.document_id, user=request.user, translations=form.translations()
        )

    return _verb(request, pk, TitleTranslationsForm(request.POST), "titles_form", act, _("Titles saved."))


def _version_context(version: SopVersion, **forms) -> dict:
    return {
        "version": version,
        "signatures": manifestations(version),
        "versions": version.document.versions.all(),
        "acknowledgements": version.acknowledgements.select_related("user", "workstation"),
        "routing_operations": RoutingOperation.objects.filter(
            workstation__line__site=version.document.site
        ).select_related("routing__product"),
        "attached": version.document.operations.select_related("routing_operation__routing__product"),
        "titles_form": TitleTranslationsForm(document=version.document),
        "update_form": SopUpdateForm(version=version),
        "image_form": SopImageForm(),
        "submit_form": DeskForm(),
        "approve_form": ApproveForm(),
        "effective_form": DeskForm(),
        "new_draft_form": ReasonForm(),
        "attach_form": SopAttachForm(),
        **forms,
    }


# What a verb does with the version and the form's data; the page to go to next, if not this one.
Act = Callable[..., str | None]


def _verb(request, pk: int, form: DeskForm, partial: str, act: Act, message: str | None = None):
    """Do one verb on the SOP version (see `common.do_verb`): back to its page, or the page `act`
    names."""
    version = _sop_version_or_404(request, pk)
    return do_verb(
        request,
        form,
        lambda data: act(version, data, form),
        page=VERSION_PAGE,
        partial=partial,
        context=lambda: _version_context(version),
        back=reverse("quality_sop_version", args=[pk]),
        message=message or _("Done."),
    )


@require_POST
@permission_required("quality.view_sopdocument")
def sop_update(request, pk: int):
    def act(version, data, form):
        services.sop_version_update(
            version_id=version.pk,
            user=request.user,
            body=data["body"],
            pdf=request.FILES.get("pdf"),
            translations=form.translations(),
            reason=data["reason"],
        )

    return _verb(request, pk, SopUpdateForm(request.POST), "update_form", act)


@require_POST
@permission_required("quality.view_sopdocument")
def sop_image(request, pk: int):
    def act(version, data, form):
        services.sop_image_add(
            version_id=version.pk,
            user=request.user,
            image=request.FILES.get("image"),
            caption=data["caption"],
        )

    return _verb(request, pk, SopImageForm(request.POST), "image_form", act)


@require_POST
@permission_required("quality.view_sopdocument")
def sop_submit(request, pk: int):
    def act(version, data, form):
        services.sop_version_submit(version_id=version.pk, user=request.user)

    return _verb(request, pk, DeskForm(request.POST), "submit_form", act)


@require_POST
@permission_required("quality.view_sopdocument")
def sop_approve(request, pk: int):
    def act(version, data, form):
        services.sop_version_approve(
            version_id=version.pk,
            user=request.user,
            request=request,
            comment=data["comment"],
            **form.credentials(),
        )

    return _verb(request, pk, ApproveForm(request.POST), "approve_form", act)


@require_POST
@permission_required("quality.view_sopdocument")
def sop_effective(request, pk: int):
    def act(version, data, form):
        services.sop_version_make_effective(version_id=version.pk, user=request.user)

    return _verb(request, pk, DeskForm(request.POST), "effective_form", act)


@require_POST
@permission_required("quality.view_sopdocument")
def sop_new_draft(request, pk: int):
    def act(version, data, form):
        draft = services.sop_version_new_draft(
            document_id=version.document_id, user=request.user, change_note=data["reason"]
        )
        return reverse("quality_sop_version", args=[draft.pk])

    return _verb(request, pk, ReasonForm(request.POST), "new_draft_form", act)


@require_POST
@permission_required("quality.view_sopdocument")
def sop_attach(request, pk: int):
    def act(version, data, form):
        services.operation_sop_attach(
            routing_operation=get_object_or_404(
                RoutingOperation,
                pk=posted_id(request, "routing_operation", message=_("Choose an operation.")),
            ),
            document=version.document,
            user=request.user,
        )

    return _verb(request, pk, SopAttachForm(request.POST), "attach_form", act)
