"""SOP documents at the desk: the list, a new SOP, one version and its lifecycle (update, images,
review, approval with an e-signature, effective, new draft, attach to an operation)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mes.content import content_languages, posted_translations
from mes.errors import MesError, ValidationFailed
from mes.forms import posted_id
from mes.permissions import permission_required
from mes.selectors import sites_visible_to
from mes.signatures import manifestations
from quality import services
from quality.content import SOP_TEXTS
from quality.models import SopDocument, SopVersion
from quality.views._helpers import credentials, done, refused
from quality.views.desk.common import refuse, site_of
from quality.views.desk.forms import SopCreateForm, TitleTranslationsForm
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
    """The SOP's title in other languages; a refusal comes back at its field, as typed."""
    version = _sop_version_or_404(request, pk)
    form = TitleTranslationsForm(request.POST)
    try:
        services.title_translate(
            model=SopDocument, pk=version.document_id, user=request.user, translations=form.translations()
        )
    except MesError as exc:
        context = _version_context(version, titles_form=form)
        return refuse(request, form, exc, page=VERSION_PAGE, partial="titles_form", context=context)
    return done(request, _("Titles saved."), reverse("quality_sop_version", args=[pk]))


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
        **forms,
    }


@require_POST
@permission_required("quality.view_sopdocument")
def sop_act(request, pk: int):
    version = get_object_or_404(
        SopVersion.objects.filter(document__site__in=sites_visible_to(request.user)), pk=pk
    )
    post, user, to = request.POST, request.user, reverse("quality_sop_version", args=[pk])
    try:
        action = post.get("action")
        if action == "update":
            # The translations change only from a form that shows them.
            shown = any(f"body_{code}" in post for code, _name in content_languages())
            services.sop_version_update(
                version_id=pk,
                user=user,
                body=post.get("body"),
                pdf=request.FILES.get("pdf"),
                translations=posted_translations(post, SOP_TEXTS) if shown else None,
            )
        elif action == "image":
            services.sop_image_add(
                version_id=pk, user=user, image=request.FILES.get("image"), caption=post.get("caption", "")
            )
        elif action == "submit":
            services.sop_version_submit(version_id=pk, user=user)
        elif action == "approve":
            services.sop_version_approve(version_id=pk, user=user, request=request, **credentials(post))
        elif action == "effective":
            services.sop_version_make_effective(version_id=pk, user=user)
        elif action == "new_draft":
            draft = services.sop_version_new_draft(
                document_id=version.document_id, user=user, change_note=post.get("reason", "")
            )
            to = reverse("quality_sop_version", args=[draft.pk])
        elif action == "attach":
            services.operation_sop_attach(
                routing_operation=get_object_or_404(
                    RoutingOperation,
                    pk=posted_id(request, "routing_operation", message=_("Choose an operation.")),
                ),
                document=version.document,
                user=user,
            )
        else:
            raise ValidationFailed(_("Unknown action."), field="action")
    except MesError as exc:
        return refused(request, exc, to)
    return done(request, _("Done."), to)
