"""Celery tasks of traceability: a thin wrapper running a report job.

In the embedded mode (no broker, tasks eager) the job runs in a background thread of the server
process instead, so the request that asked for it returns at once and the page shows progress.
"""

from __future__ import annotations

import logging
import threading

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections, connection

from traceability import services

log = logging.getLogger("traceability.tasks")


@shared_task(name="traceability.run_report_job", ignore_result=True)
def run_report_job(job_id: int) -> None:
    services.report_job_run(job_id=job_id)


@shared_task(name="traceability.sweep_report_jobs", ignore_result=True)
def sweep_report_jobs() -> None:
    """Celery beat: jobs whose task was lost (queued while the broker was down, say) run anyway."""
    services.report_jobs_sweep()


def _run_in_thread(job_id: int) -> None:
    try:
        close_old_connections()
        services.report_job_run(job_id=job_id)
    except Exception:
        log.exception("report job %s failed in its thread", job_id)
    finally:
        connection.close()


def enqueue(job_id: int) -> None:
    """Start a report job: a Celery task with a broker; in the embedded mode a thread (or, with
    the setting REPORT_JOBS_INLINE, right here — tests and scripts)."""
    from config.celery import app

    if app.conf.task_always_eager:
        if getattr(settings, "REPORT_JOBS_INLINE", False):
            services.report_job_run(job_id=job_id)
            return
        threading.Thread(
            target=_run_in_thread, args=(job_id,), name=f"report-job-{job_id}", daemon=True
        ).start()
        return
    try:
        run_report_job.apply_async(args=[job_id], retry=False)
    except Exception as exc:  # broker down: the job stays queued; the beat sweep hands it out
        log.warning("could not queue report job %s (%s)", job_id, exc)
