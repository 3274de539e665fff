"""Report jobs in the browser: ask for one, watch its progress, download it."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from mes.errors import MesError
from mes.forms import local_url, refusal
from mes.permissions import permission_required
from traceability import services
from traceability.forms import ReportRequestForm
from traceability.models import ReportJob, ReportStatus

VIEW_LOT = "workorders.view_lot"


def file_response(job: ReportJob) -> FileResponse | None:
    """The finished report as a download carrying its content hash; None while it is not ready."""
    if job.status != ReportStatus.DONE or not job.file:
        return None
    response = FileResponse(job.file.open("rb"), as_attachment=True, filename=job.filename,
                            content_type=job.content_type)  # fmt: skip
    response["X-Content-SHA256"] = job.content_hash
    return response


def job_for(user, pk: int) -> ReportJob:
    """A report job its requester (or an administrator) may see; others get 404."""
    jobs = ReportJob.objects.all() if user.is_superuser else ReportJob.objects.filter(requested_by=user)
    return get_object_or_404(jobs, pk=pk)


@require_POST
@permission_required(VIEW_LOT)
def report_create(request):
    """Queue a report. The trace page's export buttons post hidden fields only (nothing typed to
    keep), so a refusal goes back to the page it came from with the reason."""
    form = ReportRequestForm(request.POST)
    try:
        if not form.is_valid():
            raise refusal(form)
        job = services.report_job_create(
            user=request.user, kind=form.cleaned_data["kind"], params=form.params()
        )
    except MesError as exc:
        messages.error(request, exc.message)
        return redirect(local_url(request, request.META.get("HTTP_REFERER"), "/trace/"))
    return redirect("report_detail", pk=job.pk)


@permission_required(VIEW_LOT)
def report_detail(request, pk: int):
    job = job_for(request.user, pk)
    template = "traceability/report_job.html#progress" if request.htmx else "traceability/report_job.html"
    return render(request, template, {"job": job, "statuses": ReportStatus})


@permission_required(VIEW_LOT)
def report_list(request):
    jobs = ReportJob.objects.filter(requested_by=request.user).order_by("-created_at", "-pk")[:50]
    return render(request, "traceability/report_jobs.html", {"jobs": jobs})


@permission_required(VIEW_LOT)
def report_download(request, pk: int):
    response = file_response(job_for(request.user, pk))
    if response is None:
        raise Http404(gettext("This report is not ready."))
    return response
