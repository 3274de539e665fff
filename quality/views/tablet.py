"""The operator's checklist pages on the workstation tablet, under /workstation/checklists/.

The operation screen (workorders) includes the panel `operation_panel` with
`hx-get="{% url 'quality_operation_panel' op.pk %}"`: it lists the checklists the operation
requires (done or to fill) and its SOPs to read. Filling is one page per run; each value is
saved as it is entered (and kept in the browser until the server has it), and the submission
carries an idempotency key kept with the run in the browser, so a resend after a network drop is
recorded once. A submission made without a network waits on the tablet (static/js/checklist.js)
and is sent with the same key when the connection returns.
"""

from __future__ import annotations

from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from mes import tablets
from mes.errors import MesError, ValidationFailed
from mes.forms import local_url, posted_id, typed_decimal
from mes.permissions import permission_required
from quality import selectors, services
from quality.models import ChecklistRun, ChecklistTemplate, FormAssignment, SopVersion
from quality.services.runs import item_field, max_photo_bytes
from quality.states import RunStatus
from quality.views._helpers import credentials, key_of
from workorders.selectors.floor import operation_for_workstation

FILL = "quality.fill_checklist"


def _next(request, fallback: str) -> str:
    return local_url(request, request.POST.get("next") or request.GET.get("next"), fallback)


@never_cache
@require_GET
@permission_required(FILL)
@tablets.on_bound_tablet
def operation_panel(request, workstation, op_pk: int):
    """What the operation needs from quality: checklists (and when) and SOPs to read."""
    op = operation_for_workstation(workstation, op_pk)
    if op is None:
        raise Http404(_("No such operation at this workstation."))
    context = {
        "op": op,
        "workstation": workstation,
        "requirements": selectors.requirements_for(op),
        "sops": selectors.sops_for(op, request.user),
        "back": request.GET.get("next") or reverse("workstation_operation", args=[op.pk]),
    }
    if request.htmx:
        return render(request, "quality/tablet/operation_panel.html", context)
    return render(request, "quality/tablet/operation_page.html", context)


@require_POST
@permission_required(FILL)
@tablets.on_bound_tablet
def run_start(request, workstation):
    post = request.POST
    try:
        assignment = None
        assignment_id = posted_id(request, "assignment", required=False, message=_("Choose a form."))
        if assignment_id:
            assignment = get_object_or_404(
                FormAssignment.objects.select_related("template"), pk=assignment_id
            )
            template = assignment.template
        else:
            template = get_object_or_404(
                ChecklistTemplate, pk=posted_id(request, "template", message=_("Choose a checklist."))
            )
        # The service refuses a form assigned elsewhere and a checklist of another site.
        run = services.checklist_run_start(
            template=template,
            workstation=workstation,
            user=request.user,
            operation_id=posted_id(request, "operation", required=False, message=_("Choose an operation.")),
            trigger=post.get("trigger", ""),
            assignment=assignment,
        )
    except MesError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status_code)
    url = reverse("quality_run", args=[run.pk])
    nxt = _next(request, "")
    return redirect(f"{url}?next={nxt}" if nxt else url)


def _run_or_404(workstation, pk) -> ChecklistRun:
    run = selectors.run_with_items(pk)
    if run is None or run.workstation_id != workstation.pk:
        raise Http404(_("No such checklist at this workstation."))
    return run


def _run_context(request, run, error: MesError | None = None, values: dict | None = None):
    items = list(run.version.items.all())
    draft = values if values is not None else run.draft
    rows = []
    for item in items:
        raw = draft.get(item_field(item), draft.get(str(item.pk)))
        responses = [r for r in run.responses.all() if r.item_id == item.pk]
        rows.append(
            {
                "item": item,
                "field": item_field(item),
                "value": raw,
                "values": raw if isinstance(raw, list) else ([raw] if raw else []),
                "responses": responses,
                "error": error.message if error and error.field == item_field(item) else "",
            }
        )
    return {
        "run": run,
        "rows": rows,
        "error": error,
        "workstation": run.workstation,
        "next": _next(request, reverse("workstation_queue")),
        "max_photo_mb": max_photo_bytes() // (1024 * 1024),
        "answered": sum(1 for r in rows if r["value"] not in (None, "", [])),
    }


@never_cache
@require_GET
@permission_required(FILL)
@tablets.on_bound_tablet
def run_page(request, workstation, pk: int):
    run = _run_or_404(workstation, pk)
    return render(request, "quality/tablet/run.html", _run_context(request, run))


@never_cache
@require_POST
@permission_required(FILL)
@tablets.on_bound_tablet
def run_save(request, workstation, pk: int):
    """Keep one value as entered; answer how it reads (for the colouring and the error)."""
    run = get_object_or_404(ChecklistRun, pk=pk, workstation=workstation)
    post = request.POST
    try:
        item_id = int(post.get("item", "").removeprefix("item_") or 0)
        values = post.getlist("value")
        value = values if len(values) > 1 or post.get("multiple") == "1" else post.get("value", "")
        verdict = services.checklist_run_save_progress(
            run_id=run.pk, item_id=item_id, value=value, user=request.user, upload=request.FILES.get("value")
        )
        item = run.version.items.filter(pk=item_id, kind="number").first()
        if item is not None and isinstance(value, str):
            try:  # kept as typed; a number in the other language's format is said at once
                typed_decimal(value, field=item_field(item), label=item.prompt)
            except ValidationFailed as exc:
                verdict = {**verdict, "ok": False, "in_spec": None, "error": exc.message}
    except (MesError, ValueError) as exc:
        exc = exc if isinstance(exc, MesError) else ValidationFailed(_("No such item."), field="item")
        return JsonResponse(exc.as_dict(), status=exc.status_code)
    return JsonResponse({"saved": True, **verdict})


@never_cache
@require_POST
@permission_required(FILL)
@tablets.on_bound_tablet
def run_submit(request, workstation, pk: int):
    run = _run_or_404(workstation, pk)
    post = request.POST
    answers = {}
    for row in run.version.items.all():
        name = item_field(row)
        if row.kind == "choice" and row.multiple:
            answers[name] = post.getlist(name)
        elif name in post:
            answers[name] = post.get(name)
        elif row.kind == "photo" and str(row.pk) in run.draft:
            answers[name] = run.draft[str(row.pk)]
    uploads = {name: f for name, f in request.FILES.items()}
    typed = dict(answers)  # shown again as typed if the submission is refused
    try:
        for row in run.version.items.all():
            name = item_field(row)
            if row.kind == "number" and isinstance(answers.get(name), str):
                answers[name] = typed_decimal(answers[name], field=name, label=row.prompt)
        if run.status == RunStatus.COMPLETED:
            # A resend after a lost answer: the key tells whether it is the same submission.
            key_of(post)
        services.checklist_run_submit(
            key=key_of(post),
            user=request.user,
            workstation=workstation,
            answers=answers,
            uploads=uploads,
            run_id=run.pk,
            request=request,
            **credentials(post),
        )
    except MesError as exc:
        if exc.code == "run_submitted":
            return _submitted(request)
        context = _run_context(request, run, error=exc, values=typed)
        return render(request, "quality/tablet/run.html", context, status=exc.status_code)
    return _submitted(request)


def _submitted(request):
    """Where to go once the run is stored. The page's script (which may be sending a submission
    kept on the tablet through a network drop) asks for JSON: a redirect it follows could not be
    told apart from one to the sign-in page."""
    to = _next(request, reverse("workstation_queue"))
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"submitted": True, "next": to})
    return redirect(to)


@never_cache
@require_GET
@permission_required(FILL)
@tablets.on_bound_tablet
def forms(request, workstation):
    return render(
        request,
        "quality/tablet/forms.html",
        {"workstation": workstation, "forms": selectors.forms_for(workstation)},
    )


@never_cache
@permission_required("quality.acknowledge_sop")
@tablets.on_bound_tablet
def sop(request, workstation, pk: int):
    version = get_object_or_404(
        SopVersion.objects.select_related("document"),
        pk=pk,
        status="effective",
        document__site_id=workstation.line.site_id,  # a tablet reads its own site's SOPs only
    )
    error = None
    if request.method == "POST":
        try:
            services.sop_acknowledge(
                version_id=version.pk,
                user=request.user,
                workstation=workstation,
                badge_number=(request.POST.get("badge_number") or "").strip() or None,
                pin=request.POST.get("pin") or None,
                request=request,
            )
        except MesError as exc:
            error = exc
        else:
            return redirect(_next(request, reverse("workstation_queue")))
    acknowledged = version.acknowledgements.filter(user=request.user).exists()
    return render(
        request,
        "quality/tablet/sop.html",
        {
            "workstation": workstation,  # the tablet's header: site, line, workstation, operator
            "version": version,
            "acknowledged": acknowledged,
            "error": error,
            "next": _next(request, reverse("workstation_queue")),
        },
        status=error.status_code if error is not None else 200,
    )


urlpatterns = [
    path("workstation/checklists/operations/<int:op_pk>/", operation_panel, name="quality_operation_panel"),
    path("workstation/checklists/start/", run_start, name="quality_run_start"),
    path("workstation/checklists/runs/<int:pk>/", run_page, name="quality_run"),
    path("workstation/checklists/runs/<int:pk>/save/", run_save, name="quality_run_save"),
    path("workstation/checklists/runs/<int:pk>/submit/", run_submit, name="quality_run_submit"),
    path("workstation/checklists/forms/", forms, name="quality_forms"),
    path("workstation/checklists/sops/<int:pk>/", sop, name="quality_sop"),
]
