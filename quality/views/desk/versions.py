"""A checklist version at the desk: the editor page and its lifecycle, one view per verb (send to
review, back to draft, approve with an e-signature, make effective, retire, new draft version)
and where the checklist is used (attach to an operation, detach, assign as a form)."""

from __future__ import annotations

from collections.abc import Callable

from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mes.forms import posted_id, posted_int
from mes.models import Line, Workstation
from mes.permissions import permission_required
from mes.selectors import sites_visible_to
from mes.signatures import manifestations
from quality import services
from quality.models import ChecklistTemplate, ChecklistTemplateVersion, OperationChecklist
from quality.states import ItemKind, Schedule, Trigger
from quality.views.desk.common import do_verb
from quality.views.desk.forms import (
    ApproveForm,
    AssignForm,
    AttachForm,
    DeskForm,
    ReasonForm,
    TitleTranslationsForm,
)
from workorders.models import RoutingOperation

PAGE = "quality/version.html"
VIEW = "quality.view_checklisttemplate"


def version_or_404(request, pk) -> ChecklistTemplateVersion:
    return get_object_or_404(
        ChecklistTemplateVersion.objects.filter(
            template__site__in=sites_visible_to(request.user)
        ).select_related("template", "created_by", "approved_by"),
        pk=pk,
    )


def editor_context(request, version, **extra) -> dict:
    """The editor page; each lifecycle form fresh unless `extra` brings one back as typed."""
    return {
        "version": version,
        "template": version.template,
        "items": version.items.all(),
        "kinds": ItemKind.choices,
        "signatures": manifestations(version),
        "versions": version.template.versions.all(),
        "attachments": OperationChecklist.objects.filter(template=version.template).select_related(
            "routing_operation__routing__product", "routing_operation__workstation"
        ),
        "routing_operations": RoutingOperation.objects.filter(
            workstation__line__site=version.template.site
        ).select_related("routing__product", "workstation"),
        "triggers": Trigger.choices,
        "schedules": Schedule.choices,
        "assignments": version.template.assignments.select_related("workstation", "line"),
        "workstations": Workstation.objects.filter(line__site=version.template.site),
        "lines": Line.objects.filter(site=version.template.site),
        "editable": version.status == "draft",
        "submit_form": DeskForm(),
        "approve_form": ApproveForm(),
        "return_form": ReasonForm(),
        "effective_form": DeskForm(),
        "new_draft_form": ReasonForm(),
        "retire_form": ReasonForm(),
        "detach_form": DeskForm(),
        "attach_form": AttachForm(),
        "assign_form": AssignForm(),
        "titles_form": TitleTranslationsForm(document=version.template),
        **extra,
    }


@permission_required(VIEW)
def version_detail(request, pk: int):
    version = version_or_404(request, pk)
    template = f"{PAGE}#items" if request.htmx and request.htmx.target == "items" else PAGE
    return render(request, template, editor_context(request, version))


# What a verb does with the version and the form's data; the page to go to next, if not this one.
Act = Callable[..., str | None]


def _verb(request, pk: int, form: DeskForm, partial: str, act: Act):
    """Do one verb on the version (see `common.do_verb`): back to the version page, or the page
    `act` names."""
    version = version_or_404(request, pk)
    return do_verb(
        request,
        form,
        lambda data: act(request, version, data, form),
        page=PAGE,
        partial=partial,
        context=lambda: editor_context(request, version),
        back=reverse("quality_version", args=[pk]),
        message=_("Done."),
    )


@require_POST
@permission_required(VIEW)
def version_submit(request, pk: int):
    def act(request, version, data, form):
        services.version_submit(version_id=version.pk, user=request.user)

    return _verb(request, pk, DeskForm(request.POST), "submit_form", act)


@require_POST
@permission_required(VIEW)
def version_titles(request, pk: int):
    def act(request, version, data, form):
        services.title_translate(
            model=ChecklistTemplate,
            pk=version.template_id,
            user=request.user,
            translations=form.translations(),
        )

    return _verb(request, pk, TitleTranslationsForm(request.POST), "titles_form", act)


@require_POST
@permission_required(VIEW)
def version_return(request, pk: int):
    def act(request, version, data, form):
        services.version_return_to_draft(version_id=version.pk, user=request.user, reason=data["reason"])

    return _verb(request, pk, ReasonForm(request.POST), "return_form", act)


@require_POST
@permission_required(VIEW)
def version_approve(request, pk: int):
    def act(request, version, data, form):
        services.version_approve(
            version_id=version.pk,
            user=request.user,
            request=request,
            comment=data["comment"],
            **form.credentials(),
        )

    return _verb(request, pk, ApproveForm(request.POST), "approve_form", act)


@require_POST
@permission_required(VIEW)
def version_effective(request, pk: int):
    def act(request, version, data, form):
        services.version_make_effective(version_id=version.pk, user=request.user)

    return _verb(request, pk, DeskForm(request.POST), "effective_form", act)


@require_POST
@permission_required(VIEW)
def version_retire(request, pk: int):
    def act(request, version, data, form):
        services.version_retire(version_id=version.pk, user=request.user, reason=data["reason"])

    return _verb(request, pk, ReasonForm(request.POST), "retire_form", act)


@require_POST
@permission_required(VIEW)
def version_new_draft(request, pk: int):
    def act(request, version, data, form):
        draft = services.version_new_draft(
            template_id=version.template_id, user=request.user, change_note=data["reason"]
        )
        return reverse("quality_version", args=[draft.pk])

    return _verb(request, pk, ReasonForm(request.POST), "new_draft_form", act)


@require_POST
@permission_required(VIEW)
def version_attach(request, pk: int):
    def act(request, version, data, form):
        services.operation_checklist_attach(
            routing_operation=get_object_or_404(
                RoutingOperation,
                pk=posted_id(request, "routing_operation", message=_("Choose an operation.")),
            ),
            template=version.template,
            trigger=data["trigger"],
            every_n_units=request.POST.get("every_n_units"),
            user=request.user,
        )

    return _verb(request, pk, AttachForm(request.POST), "attach_form", act)


@require_POST
@permission_required(VIEW)
def version_detach(request, pk: int):
    def act(request, version, data, form):
        services.operation_checklist_detach(
            attachment_id=posted_id(request, "attachment", message=_("Choose an attachment to remove.")),
            user=request.user,
        )

    return _verb(request, pk, DeskForm(request.POST), "detach_form", act)


def _optional(model, pk: int | None):
    return model.objects.filter(pk=pk).first() if pk else None


@require_POST
@permission_required(VIEW)
def version_assign(request, pk: int):
    def act(request, version, data, form):
        services.form_assign(
            template=version.template,
            schedule=data["schedule"],
            user=request.user,
            workstation=_optional(Workstation, posted_id(request, "workstation", required=False)),
            line=_optional(Line, posted_id(request, "line", required=False)),
            weekday=posted_int(request, "weekday", min_value=1, max_value=7, message=_("Choose a weekday.")),
        )

    return _verb(request, pk, AssignForm(request.POST), "assign_form", act)
