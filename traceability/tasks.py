"""Celery tasks of traceability: thin wrappers running a report job and the sweep.

The services hand a job out by the task's name (`services.RUN_TASK`); in the embedded mode (no
broker, tasks eager) they run it in a background thread of the server process instead.
"""

from __future__ import annotations

from celery import shared_task

from traceability import services


@shared_task(name=services.RUN_TASK, ignore_result=True)
def run_report_job(job_id: int) -> None:
    services.report_job_run(job_id=job_id)


@shared_task(name="traceability.sweep_report_jobs", ignore_result=True)
def sweep_report_jobs() -> None:
    """Celery beat: jobs whose task was lost (queued while the broker was down, say) run anyway."""
    services.report_jobs_sweep()
