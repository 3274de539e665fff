"""Report jobs: create one (checking what it asks for), hand it out, and run one (build the file,
keep its state and progress). The job row is the truth; the task that runs it is only a nudge.

A job is handed out by the task's name (`RUN_TASK`), so this module needn't import the tasks
that call back into it; without a broker (the embedded mode) it runs in a thread of the server.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language, gettext, override

from mes.errors import Forbidden, ValidationFailed
from traceability.models import ReportJob, ReportKind, ReportStatus
from traceability.reports import registry
from traceability.selectors import DIRECTIONS, lot_for_trace

log = logging.getLogger("traceability.reports")
# A job running longer than this is taken as lost with its worker and may be claimed again.
LEASE = timedelta(minutes=30)
# A job still queued this long after it was asked for lost its task (a broker that was down, a
# task dropped with its worker): the sweep hands it out again.
QUEUED_GRACE = timedelta(minutes=2)
TRACE_PERMISSION = "workorders.view_lot"
AUDIT_PERMISSION = "traceability.view_reportjob"
RUN_TASK = "traceability.run_report_job"


def _trace_params(*, user, params: dict) -> dict:
    direction = (params.get("direction") or "backward").strip()
    if direction not in DIRECTIONS:
        raise ValidationFailed(
            gettext("The direction is 'backward' or 'forward'."), field="direction", code="invalid_direction"
        )
    lot = lot_for_trace(user=user, code=str(params.get("code") or ""))
    return {"code": lot.code, "direction": direction}


@transaction.atomic
def report_job_create(*, user, kind: str, params: dict) -> ReportJob:
    """Queue a report for `user`. Guarantees: the kind and parameters are checked now (an unknown
    serial, a lot on a site the user may not see, an impossible period are refused here with the
    field at fault), and the job is handed to a worker only once this transaction commits."""
    if kind not in ReportKind.values:
        raise ValidationFailed(
            gettext("'%(kind)s' is not a kind of report.") % {"kind": kind}, field="kind", code="unknown_kind"
        )
    params = params or {}
    if kind in registry.TRACE_FORMATS:
        if not user.has_perm(TRACE_PERMISSION):
            raise Forbidden(gettext("You may not trace lots and serials."), code="forbidden")
        clean = _trace_params(user=user, params=params)
    else:
        if not (user.has_perm(AUDIT_PERMISSION) and (user.is_superuser or user.all_sites)):
            raise Forbidden(gettext("Audit-trail reports are for plant-wide auditors."), code="forbidden")
        clean = registry.audit_params(params)
    job = ReportJob.objects.create(kind=kind, params=clean, requested_by=user, language=get_language() or "")
    transaction.on_commit(lambda: _dispatch(job.pk))
    return job


def _run_in_thread(job_id: int) -> None:
    try:
        close_old_connections()
        report_job_run(job_id=job_id)
    except Exception:
        log.exception("report job %s failed in its thread", job_id)
    finally:
        connection.close()


def _dispatch(job_id: int) -> None:
    """Start a report job: a Celery task with a broker; in the embedded mode a thread (or, with
    the setting REPORT_JOBS_INLINE, right here — tests and scripts)."""
    if current_app.conf.task_always_eager:
        if getattr(settings, "REPORT_JOBS_INLINE", False):
            report_job_run(job_id=job_id)
            return
        threading.Thread(
            target=_run_in_thread, args=(job_id,), name=f"report-job-{job_id}", daemon=True
        ).start()
        return
    try:
        current_app.send_task(RUN_TASK, args=[job_id], retry=False)
    except Exception as exc:  # broker down: the job stays queued; the beat sweep hands it out
        log.warning("could not queue report job %s (%s)", job_id, exc)


def report_jobs_sweep() -> list[int]:
    """Hand out again every job whose task was lost: queued past `QUEUED_GRACE`, or running past
    `LEASE`. Returns their ids. Harmless when the first task was only late: a job runs once,
    whoever claims it first (see `report_job_run`)."""
    now = timezone.now()
    stranded = list(
        ReportJob.objects.filter(
            Q(status=ReportStatus.QUEUED, created_at__lt=now - QUEUED_GRACE)
            | Q(status=ReportStatus.RUNNING, started_at__lt=now - LEASE)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for job_id in stranded:
        log.warning("report job %s lost its task; handing it out again", job_id)
        _dispatch(job_id)
    return stranded


def _claim(job_id: int) -> bool:
    now = timezone.now()
    return bool(
        ReportJob.objects.filter(pk=job_id)
        .filter(Q(status=ReportStatus.QUEUED) | Q(status=ReportStatus.RUNNING, started_at__lt=now - LEASE))
        .update(status=ReportStatus.RUNNING, started_at=now, progress=0, error="")
    )


def report_job_run(*, job_id: int) -> ReportJob:
    """Build the report of a queued job and store it. Idempotent: a job that is running
    (within its lease), done or failed is left as it is, so a redelivered task does nothing.
    A failure is kept on the job with its reason; it never escapes to the caller."""
    if not _claim(job_id):
        return ReportJob.objects.get(pk=job_id)
    job = ReportJob.objects.select_related("requested_by").get(pk=job_id)
    last = [0]

    def progress(percent: int) -> None:
        percent = max(0, min(99, int(percent)))
        if percent >= last[0] + 5:
            last[0] = percent
            ReportJob.objects.filter(pk=job_id, status=ReportStatus.RUNNING).update(progress=percent)

    try:
        # Written in the language it was asked for in, whatever the worker's.
        with override(job.language or settings.LANGUAGE_CODE):
            built = registry.build(job.kind, job.params, user=job.requested_by, progress=progress)
    except Exception as exc:
        log.exception("report job %s failed", job_id)
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        ReportJob.objects.filter(pk=job_id).update(
            status=ReportStatus.FAILED, error=str(message)[:2000], finished_at=timezone.now()
        )
        return ReportJob.objects.get(pk=job_id)
    job.file.save(built.filename, ContentFile(built.content), save=False)
    ReportJob.objects.filter(pk=job_id).update(
        status=ReportStatus.DONE,
        progress=100,
        file=job.file.name,
        filename=built.filename,
        content_type=built.content_type,
        content_hash=built.content_hash,
        finished_at=timezone.now(),
    )
    return ReportJob.objects.get(pk=job_id)
