import csv
import io
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from mes.errors import Forbidden, NotFound, ValidationFailed
from traceability import services, tasks
from traceability.models import ReportJob, ReportStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_report_job_runs_once_with_progress_and_hash(genealogy, auditor, settings):
    settings.REPORT_JOBS_INLINE = True
    job = services.report_job_create(
        user=auditor, kind="trace_json", params={"code": "STEEL-1", "direction": "forward"}
    )

    done = services.report_job_run(job_id=job.pk)
    again = services.report_job_run(job_id=job.pk)

    assert done.status == ReportStatus.DONE and done.progress == 100
    assert done.params == {"code": "STEEL-1", "direction": "forward"}
    assert done.file.read().startswith(b"{")
    assert again.finished_at == done.finished_at  # a redelivered task does nothing


def test_a_failing_build_is_kept_on_the_job_with_its_reason(genealogy, auditor):
    job = services.report_job_create(user=auditor, kind="trace_pdf", params={"code": "SN-1"})
    genealogy.lots["SN-1"].__class__.objects.filter(code="SN-1").update(code="SN-1-renamed")

    failed = services.report_job_run(job_id=job.pk)

    assert failed.status == ReportStatus.FAILED
    assert "No serial or lot 'SN-1'" in failed.error


def test_a_job_lost_with_its_worker_is_claimed_again_after_the_lease(genealogy, auditor):
    job = services.report_job_create(user=auditor, kind="trace_csv", params={"code": "SN-1"})
    ReportJob.objects.filter(pk=job.pk).update(status=ReportStatus.RUNNING, started_at=timezone.now())
    assert services.report_job_run(job_id=job.pk).status == ReportStatus.RUNNING
    ReportJob.objects.filter(pk=job.pk).update(
        started_at=timezone.now() - services.LEASE - timedelta(seconds=1)
    )

    assert services.report_job_run(job_id=job.pk).status == ReportStatus.DONE


def test_the_sweep_runs_jobs_whose_task_was_lost_and_leaves_the_rest(genealogy, auditor, settings):
    settings.REPORT_JOBS_INLINE = True
    jobs = {
        name: services.report_job_create(user=auditor, kind="trace_csv", params={"code": "SN-1"})
        for name in ("queued long ago", "just queued", "running", "running past its lease", "done")
    }
    long_ago = timezone.now() - services.QUEUED_GRACE - timedelta(seconds=1)
    ReportJob.objects.filter(pk=jobs["queued long ago"].pk).update(created_at=long_ago)
    ReportJob.objects.filter(pk=jobs["running"].pk).update(
        status=ReportStatus.RUNNING, started_at=timezone.now()
    )
    ReportJob.objects.filter(pk=jobs["running past its lease"].pk).update(
        status=ReportStatus.RUNNING, started_at=timezone.now() - services.LEASE - timedelta(seconds=1)
    )
    services.report_job_run(job_id=jobs["done"].pk)
    finished_before = ReportJob.objects.get(pk=jobs["done"].pk).finished_at

    swept = services.report_jobs_sweep()

    status = {name: ReportJob.objects.get(pk=job.pk).status for name, job in jobs.items()}
    assert swept == [jobs["queued long ago"].pk, jobs["running past its lease"].pk]
    assert status == {
        "queued long ago": ReportStatus.DONE,
        "just queued": ReportStatus.QUEUED,
        "running": ReportStatus.RUNNING,
        "running past its lease": ReportStatus.DONE,
        "done": ReportStatus.DONE,
    }
    assert ReportJob.objects.get(pk=jobs["done"].pk).finished_at == finished_before
    assert services.report_jobs_sweep() == []


def test_the_beat_task_sweeps_report_jobs_and_is_scheduled(genealogy, auditor, settings):
    settings.REPORT_JOBS_INLINE = True
    job = services.report_job_create(user=auditor, kind="trace_csv", params={"code": "SN-1"})
    long_ago = timezone.now() - services.QUEUED_GRACE - timedelta(seconds=1)
    ReportJob.objects.filter(pk=job.pk).update(created_at=long_ago)

    tasks.sweep_report_jobs.delay()

    assert ReportJob.objects.get(pk=job.pk).status == ReportStatus.DONE
    assert settings.CELERY_BEAT_SCHEDULE["report-jobs-sweep"]["task"] == tasks.sweep_report_jobs.name


def test_create_refuses_bad_requests(genealogy, auditor, operator, local_quality):
    with pytest.raises(ValidationFailed) as kind:
        services.report_job_create(user=auditor, kind="nope", params={})
    with pytest.raises(ValidationFailed) as direction:
        services.report_job_create(user=auditor, kind="trace_pdf", params={"code": "SN-1", "direction": "up"})
    with pytest.raises(NotFound):
        services.report_job_create(user=local_quality, kind="trace_pdf", params={"code": "SN-1"})
    with pytest.raises(Forbidden):
        services.report_job_create(user=operator, kind="trace_pdf", params={"code": "SN-1"})
    with pytest.raises(Forbidden):
        services.report_job_create(user=local_quality, kind="audit_pdf", params={})

    assert (kind.value.field, direction.value.field) == ("kind", "direction")


@pytest.mark.django_db(transaction=True)
def test_in_embedded_mode_a_job_runs_in_a_background_thread(genealogy, auditor):
    job = services.report_job_create(user=auditor, kind="trace_csv", params={"code": "SN-2"})
    started = [t for t in threading.enumerate() if t.name == f"report-job-{job.pk}"]
    for thread in started:
        thread.join(30)

    job.refresh_from_db()
    assert started, "the job was not handed to a thread"
    assert job.status == ReportStatus.DONE
    assert tasks.run_report_job.name == "traceability.run_report_job"


def test_audit_trail_report_csv_and_pdf_for_a_filter(genealogy, auditor, settings):
    from pypdf import PdfReader

    settings.REPORT_JOBS_INLINE = True
    csv_job = services.report_job_create(
        user=auditor, kind="audit_csv", params={"model": "workorders.lot", "record": "SN-1"}
    )
    pdf_job = services.report_job_create(user=auditor, kind="audit_pdf", params={"model": "workorders.lot"})

    csv_done = services.report_job_run(job_id=csv_job.pk)
    pdf_done = services.report_job_run(job_id=pdf_job.pk)

    rows = list(csv.DictReader(io.StringIO(csv_done.file.read().decode())))
    assert rows and {r["record"] for r in rows} == {"SN-1"} and {r["action"] for r in rows} == {"created"}
    text = " ".join(PdfReader(pdf_done.file.open("rb")).pages[0].extract_text().split())
    assert "Audit trail report" in text and "SN-3" in text and "Page 1 of" in text
    assert f"sha256 {pdf_done.content_hash}" in text


def test_export_trace_command_writes_each_format(genealogy, tmp_path, capsys):
    from pypdf import PdfReader

    pdf = tmp_path / "sn3.pdf"
    call_command("export_trace", "SN-3", "--direction", "backward", "--format", "pdf", "--output", str(pdf))
    epcis = tmp_path / "steel.jsonld"
    call_command("export_trace", "STEEL-1", "--direction", "forward", "--format", "epcis", "-o", str(epcis))

    assert "SN-3" in PdfReader(str(pdf)).pages[0].extract_text()
    assert b"TransformationEvent" in epcis.read_bytes()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No serial or lot 'NOPE'"):
        call_command("export_trace", "NOPE", "--format", "csv", "-o", str(tmp_path / "x.csv"))
