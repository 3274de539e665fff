"""Quality's desk pages: the overview (nonconformances, holds, forms due, SPC), the checklist
editor, nonconformance and hold handling, SOP documents."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from mes.errors import MesError, ValidationFailed
from mes.forms import posted_id, posted_int
from mes.models import Line, Site, Workstation
from mes.permissions import permission_required
from mes.selectors import sites_visible_to
from mes.signatures import manifestations
from quality import charts, selectors, services
from quality.models import (
    ChecklistItem,
    ChecklistTemplate,
    ChecklistTemplateVersion,
    Hold,
    Nonconformance,
    OperationChecklist,
    SopDocument,
    SopVersion,
)
from quality.states import Disposition, ItemKind, Schedule, Trigger
from quality.views._helpers import credentials, done, key_of, refused
from workorders.models import RoutingOperation, WorkOrder
from workorders.states import OPEN

VIEW_NC = "quality.view_nonconformance"
AUTHOR = "quality.author_checklist"


def _site(request) -> Site:
    """The site chosen in the form; none chosen (or one not visible), the person's first site."""
    site_id = posted_id(request, "site", required=False)
    visible = sites_visible_to(request.user)
    site = (visible.filter(pk=site_id).first() if site_id else None) or visible.first()
    if site is None:
        raise ValidationFailed("You see no site.", field="site")
    return site


@permission_required(VIEW_NC)
def overview(request):
    user = request.user
    charts_ = []
    for item, station in selectors.spc_series(user)[:12]:
        chart = selectors.spc_chart(item=item, workstation=station)
        charts_.append({"chart": chart, "svg": charts.spc_svg(chart)})
    context = {
        "nonconformances": selectors.open_nonconformances(user)[:200],
        "holds": selectors.active_holds(user),
        "summary": selectors.quality_summary(user),
        "forms_due": selectors.forms_due_for_user(user),
        "charts": charts_,
        "orders": WorkOrder.objects.filter(line__site__in=sites_visible_to(user), status__in=OPEN).order_by(
            "number"
        ),
        "sites": sites_visible_to(user),
    }
    return render(request, "quality/overview.html", context)


@permission_required(VIEW_NC)
def summary(request):
    """The small summary the supervisor's board loads (open nonconformances, holds, forms due)."""
    forms_due = selectors.forms_due_for_user(request.user)
    context = {
        "summary": selectors.quality_summary(request.user),
        "forms_due": forms_due,
        "overdue": sum(1 for _, form in forms_due if form.overdue),
    }
    return render(request, "quality/partials/summary.html", context)


@permission_required(VIEW_NC)
def spc(request, item_pk: int, workstation_pk: int):
    item = get_object_or_404(
        ChecklistItem.objects.select_related("version__template"), pk=item_pk, kind=ItemKind.NUMBER
    )
    station = get_object_or_404(
        Workstation.objects.filter(line__site__in=sites_visible_to(request.user)), pk=workstation_pk
    )
    chart = selectors.spc_chart(item=item, workstation=station)
    return render(request, "quality/spc.html", {"chart": chart, "svg": charts.spc_svg(chart)})


# --- nonconformances and holds -------------------------------------------------------------


def _nc_or_404(request, pk):
    return get_object_or_404(
        Nonconformance.objects.filter(site__in=sites_visible_to(request.user)).select_related(
            "work_order", "operation", "workstation", "item__version__template", "response", "operator"
        ),
        pk=pk,
    )


@permission_required(VIEW_NC)
def nonconformance_detail(request, pk: int):
    nc = _nc_or_404(request, pk)
    context = {
        "nc": nc,
        "signatures": manifestations(nc),
        "dispositions": Disposition.choices,
        "history": nc.history.select_related("history_user").order_by("history_date"),
        "holds": nc.holds.all(),
    }
    return render(request, "quality/nonconformance.html", context)


@require_POST
@permission_required("quality.add_nonconformance")
def nonconformance_open(request):
    post = request.POST
    try:
        order_id = posted_id(request, "work_order", required=False, message="Choose a work order.")
        order = WorkOrder.objects.filter(pk=order_id, line__site__in=sites_visible_to(request.user)).first()
        result = services.nonconformance_open(
            key=key_of(post),
            user=request.user,
            site=order.line.site if order else _site(request),
            title=post.get("title", ""),
            description=post.get("description", ""),
            work_order=order,
            lot_code=post.get("lot_code", ""),
        )
    except MesError as exc:
        return refused(request, exc, reverse("quality_overview"))
    return done(request, "Nonconformance opened.", reverse("quality_nonconformance", args=[result.result_id]))


@require_POST
@permission_required(VIEW_NC)
def nonconformance_act(request, pk: int):
    nc = _nc_or_404(request, pk)
    post, to = request.POST, reverse("quality_nonconformance", args=[pk])
    action = post.get("action")
    try:
        if action == "investigate":
            services.nonconformance_investigate(
                nonconformance_id=nc.pk, user=request.user, note=post.get("note", "")
            )
        elif action == "disposition":
            services.nonconformance_disposition(
                nonconformance_id=nc.pk,
                user=request.user,
                disposition=post.get("disposition", ""),
                note=post.get("note", ""),
                request=request,
                **credentials(post),
            )
        elif action == "close":
            services.nonconformance_close(
                nonconformance_id=nc.pk, user=request.user, note=post.get("note", "")
            )
        elif action == "hold" and nc.work_order_id:
            services.hold_place(
                key=key_of(post),
                user=request.user,
                work_order=nc.work_order,
                reason=post.get("reason", "") or nc.title,
                nonconformance=nc,
            )
        else:
            raise ValidationFailed("Unknown action.", field="action")
    except MesError as exc:
        return refused(request, exc, to)
    return done(request, f"{nc.number}: done.", to)


@require_POST
@permission_required("quality.add_hold")
def hold_place(request):
    post = request.POST
    try:
        order = get_object_or_404(
            WorkOrder.objects.filter(line__site__in=sites_visible_to(request.user)),
            pk=posted_id(request, "work_order", message="Choose a work order."),
        )
        services.hold_place(
            key=key_of(post), user=request.user, work_order=order, reason=post.get("reason", "")
        )
    except MesError as exc:
        return refused(request, exc, reverse("quality_overview"))
    return done(request, f"Order {order.number} is on hold.", reverse("quality_overview"))


@require_POST
@permission_required("quality.release_hold")
def hold_release(request, pk: int):
    hold = get_object_or_404(Hold.objects.filter(site__in=sites_visible_to(request.user)), pk=pk)
    post = request.POST
    try:
        services.hold_release(
            hold_id=hold.pk,
            user=request.user,
            reason=post.get("reason", ""),
            key=key_of(post),
            request=request,
            **credentials(post),
        )
    except MesError as exc:
        return refused(request, exc, reverse("quality_overview"))
    return done(request, "Hold released.", reverse("quality_overview"))


# --- checklist templates ----------------------------------------------------------------------


@permission_required("quality.view_checklisttemplate")
def templates(request):
    found = (
        ChecklistTemplate.objects.filter(site__in=sites_visible_to(request.user))
        .select_related("site")
        .prefetch_related("versions")
    )
    return render(
        request, "quality/templates.html", {"templates": found, "sites": sites_visible_to(request.user)}
    )


@require_POST
@permission_required(AUTHOR)
def template_create(request):
    post = request.POST
    try:
        version = services.template_create(
            site=_site(request),
            code=post.get("code", ""),
            title=post.get("title", ""),
            description=post.get("description", ""),
            signature_required=post.get("signature_required") == "on",
            user=request.user,
        )
    except MesError as exc:
        return refused(request, exc, reverse("quality_templates"))
    return done(request, "Checklist created.", reverse("quality_version", args=[version.pk]))


def _optional(model, pk: int | None):
    return model.objects.filter(pk=pk).first() if pk else None


def _version_or_404(request, pk):
    return get_object_or_404(
        ChecklistTemplateVersion.objects.filter(
            template__site__in=sites_visible_to(request.user)
        ).select_related("template", "created_by", "approved_by"),
        pk=pk,
    )


def _editor_context(request, version, **extra):
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
        **extra,
    }


@permission_required("quality.view_checklisttemplate")
def version_detail(request, pk: int):
    version = _version_or_404(request, pk)
    template = (
        "quality/version.html#items"
        if request.htmx and request.htmx.target == "items"
        else "quality/version.html"
    )
    return render(request, template, _editor_context(request, version))


def _item_data(post) -> dict:
    data = {
        name: post.get(name, "")
        for name in ("kind", "prompt", "help_text", "unit", "lsl", "usl", "target", "decimals", "choices")
    }
    data["required"] = post.get("required") == "on"
    data["multiple"] = post.get("multiple") == "on"
    if not data["decimals"]:
        data.pop("decimals")
    return {k: v for k, v in data.items() if k != "kind" or v}


@require_POST
@permission_required(AUTHOR)
def item_save(request, pk: int, item_pk: int | None = None):
    """Add an item (or change one) and answer with the item list, for htmx; on a frozen version
    the change makes a new draft version and the browser is sent there."""
    version = _version_or_404(request, pk)
    try:
        if item_pk:
            item = services.item_update(
                item_id=item_pk,
                user=request.user,
                data=_item_data(request.POST),
                help_image=request.FILES.get("help_image"),
            )
        else:
            item = services.item_add(
                version_id=version.pk,
                user=request.user,
                data=_item_data(request.POST),
                help_image=request.FILES.get("help_image"),
            )
    except MesError as exc:
        if request.htmx:
            return render(
                request,
                "quality/version.html#items",
                _editor_context(request, version, error=exc),
                status=exc.status_code,
            )
        return refused(request, exc, reverse("quality_version", args=[pk]))
    if item.version_id != version.pk:
        return done(
            request,
            f"Changes go to the new draft version {item.version.version}.",
            reverse("quality_version", args=[item.version_id]),
        )
    if request.htmx:
        return render(request, "quality/version.html#items", _editor_context(request, version))
    return done(request, "Saved.", reverse("quality_version", args=[pk]))


@require_POST
@permission_required(AUTHOR)
def item_move(request, pk: int, item_pk: int):
    version = _version_or_404(request, pk)
    try:
        if request.POST.get("direction") == "remove":
            services.item_remove(item_id=item_pk, user=request.user)
        else:
            services.item_move(
                item_id=item_pk, direction=request.POST.get("direction", ""), user=request.user
            )
    except MesError as exc:
        return render(
            request,
            "quality/version.html#items",
            _editor_context(request, version, error=exc),
            status=exc.status_code,
        )
    return render(request, "quality/version.html#items", _editor_context(request, version))


@require_POST
@permission_required("quality.view_checklisttemplate")
def version_act(request, pk: int):
    version = _version_or_404(request, pk)
    post, user = request.POST, request.user
    to = reverse("quality_version", args=[pk])
    try:
        action = post.get("action")
        if action == "submit":
            services.version_submit(version_id=pk, user=user)
        elif action == "return":
            services.version_return_to_draft(version_id=pk, user=user, reason=post.get("reason", ""))
        elif action == "approve":
            services.version_approve(
                version_id=pk,
                user=user,
                request=request,
                comment=post.get("comment", ""),
                **credentials(post),
            )
        elif action == "effective":
            services.version_make_effective(version_id=pk, user=user)
        elif action == "retire":
            services.version_retire(version_id=pk, user=user, reason=post.get("reason", ""))
        elif action == "new_draft":
            draft = services.version_new_draft(
                template_id=version.template_id, user=user, change_note=post.get("reason", "")
            )
            to = reverse("quality_version", args=[draft.pk])
        elif action == "attach":
            services.operation_checklist_attach(
                routing_operation=get_object_or_404(
                    RoutingOperation,
                    pk=posted_id(request, "routing_operation", message="Choose an operation."),
                ),
                template=version.template,
                trigger=post.get("trigger", ""),
                every_n_units=post.get("every_n_units"),
                user=user,
            )
        elif action == "detach":
            services.operation_checklist_detach(
                attachment_id=posted_id(request, "attachment", message="Choose an attachment to remove."),
                user=user,
            )
        elif action == "assign":
            services.form_assign(
                template=version.template,
                schedule=post.get("schedule", ""),
                user=user,
                workstation=_optional(Workstation, posted_id(request, "workstation", required=False)),
                line=_optional(Line, posted_id(request, "line", required=False)),
                weekday=posted_int(request, "weekday", min_value=1, max_value=7, message="Choose a weekday."),
            )
        else:
            raise ValidationFailed("Unknown action.", field="action")
    except MesError as exc:
        return refused(request, exc, to)
    return done(request, "Done.", to)


# --- SOP documents ------------------------------------------------------------------------------


@permission_required("quality.view_sopdocument")
def sops(request):
    documents = SopDocument.objects.filter(site__in=sites_visible_to(request.user)).prefetch_related(
        "versions"
    )
    return render(
        request, "quality/sops.html", {"documents": documents, "sites": sites_visible_to(request.user)}
    )


@require_POST
@permission_required("quality.author_sop")
def sop_create(request):
    post = request.POST
    try:
        version = services.sop_create(
            site=_site(request),
            code=post.get("code", ""),
            title=post.get("title", ""),
            body=post.get("body", ""),
            pdf=request.FILES.get("pdf"),
            user=request.user,
        )
    except MesError as exc:
        return refused(request, exc, reverse("quality_sops"))
    return done(request, "SOP created.", reverse("quality_sop_version", args=[version.pk]))


@permission_required("quality.view_sopdocument")
def sop_version(request, pk: int):
    version = get_object_or_404(
        SopVersion.objects.filter(document__site__in=sites_visible_to(request.user)).select_related(
            "document"
        ),
        pk=pk,
    )
    context = {
        "version": version,
        "signatures": manifestations(version),
        "versions": version.document.versions.all(),
        "acknowledgements": version.acknowledgements.select_related("user", "workstation"),
        "routing_operations": RoutingOperation.objects.filter(
            workstation__line__site=version.document.site
        ).select_related("routing__product"),
        "attached": version.document.operations.select_related("routing_operation__routing__product"),
    }
    return render(request, "quality/sop.html", context)


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
            services.sop_version_update(
                version_id=pk, user=user, body=post.get("body"), pdf=request.FILES.get("pdf")
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
                    pk=posted_id(request, "routing_operation", message="Choose an operation."),
                ),
                document=version.document,
                user=user,
            )
        else:
            raise ValidationFailed("Unknown action.", field="action")
    except MesError as exc:
        return refused(request, exc, to)
    return done(request, "Done.", to)


urlpatterns = [
    path("quality/", overview, name="quality_overview"),
    path("quality/summary/", summary, name="quality_summary"),
    path("quality/spc/<int:item_pk>/<int:workstation_pk>/", spc, name="quality_spc"),
    path("quality/nonconformances/new/", nonconformance_open, name="quality_nonconformance_open"),
    path("quality/nonconformances/<int:pk>/", nonconformance_detail, name="quality_nonconformance"),
    path("quality/nonconformances/<int:pk>/act/", nonconformance_act, name="quality_nonconformance_act"),
    path("quality/holds/new/", hold_place, name="quality_hold_place"),
    path("quality/holds/<int:pk>/release/", hold_release, name="quality_hold_release"),
    path("quality/checklists/", templates, name="quality_templates"),
    path("quality/checklists/new/", template_create, name="quality_template_create"),
    path("quality/checklists/versions/<int:pk>/", version_detail, name="quality_version"),
    path("quality/checklists/versions/<int:pk>/act/", version_act, name="quality_version_act"),
    path("quality/checklists/versions/<int:pk>/items/", item_save, name="quality_item_add"),
    path("quality/checklists/versions/<int:pk>/items/<int:item_pk>/", item_save, name="quality_item_save"),
    path(
        "quality/checklists/versions/<int:pk>/items/<int:item_pk>/move/", item_move, name="quality_item_move"
    ),
    path("quality/sops/", sops, name="quality_sops"),
    path("quality/sops/new/", sop_create, name="quality_sop_create"),
    path("quality/sops/versions/<int:pk>/", sop_version, name="quality_sop_version"),
    path("quality/sops/versions/<int:pk>/act/", sop_act, name="quality_sop_act"),
]
