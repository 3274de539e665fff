import pytest

from mes.tests.factories import SiteFactory
from traceability.models import ReportJob, ReportStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _inline_jobs(settings, tmp_path):
    settings.REPORT_JOBS_INLINE = True
    settings.MEDIA_ROOT = tmp_path


def test_trace_api_backward_and_forward(genealogy, auditor, client_for):
    client = client_for(auditor)

    backward = client.get("/api/v1/trace/SN-3/", {"direction": "backward"})
    forward = client.get("/api/v1/trace/STEEL-2/?direction=forward")

    assert backward.status_code == 200
    body = backward.json()
    assert body["lot"] == "SN-3" and len(body["content_hash"]) == 64
    assert sorted(n["lot"] for n in body["trace"]["nodes"]) == [
        "SCREW-1", "SN-3", "STEEL-1", "STEEL-2", "SUB-1", "SUB-2",
    ]  # fmt: skip
    root = body["trace"]["nodes"][0]
    assert root["order"]["operations"][0]["operators"][0]["name"] == genealogy.user.printed_name
    assert [a["lot"] for a in forward.json()["trace"]["affected"]] == ["SN-3", "SN-4"]


def test_trace_api_bad_input_is_4xx_with_field_and_reason(genealogy, auditor, local_quality, client_for):
    client = client_for(auditor)

    unknown = client.get("/api/v1/trace/SN-404/")
    sideways = client.get("/api/v1/trace/SN-1/", {"direction": "sideways"})
    elsewhere = client_for(local_quality).get("/api/v1/trace/SN-1/")

    assert unknown.status_code == 404
    assert unknown.json()["errors"] == {"code": ["No serial or lot 'SN-404' on the sites you may see."]}
    assert sideways.status_code == 400 and "direction" in sideways.json()["errors"]
    assert elsewhere.status_code == 404 and elsewhere.json()["code"] == "unknown_code"


def test_report_job_api_create_poll_and_download(
    genealogy, auditor, client_for, django_capture_on_commit_callbacks
):
    client = client_for(auditor)

    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/reports/", {"kind": "trace_epcis", "code": "SN-3"}, content_type="application/json"
        )
    job_id = created.json()["id"]
    status = client.get(f"/api/v1/reports/{job_id}/").json()
    download = client.get(f"/api/v1/reports/{job_id}/download/")

    assert created.status_code == 201 and created.json()["status"] == "queued"
    assert status["status"] == "done" and status["progress"] == 100
    assert status["download_url"].endswith(f"/api/v1/reports/{job_id}/download/")
    assert download.status_code == 200
    assert b"EPCISDocument" in b"".join(download.streaming_content)


def test_report_job_api_refuses_bad_requests_with_the_field(genealogy, auditor, local_quality, client_for):
    client = client_for(auditor)
    post = lambda c, data: c.post("/api/v1/reports/", data, content_type="application/json")  # noqa: E731

    unknown_kind = post(client, {"kind": "trace_docx", "code": "SN-1"})
    unknown_serial = post(client, {"kind": "trace_pdf", "code": "SN-404"})
    impossible = post(client, {"kind": "audit_csv", "start": "2026-05-02", "end": "2026-05-01"})
    elsewhere = post(client_for(local_quality), {"kind": "trace_pdf", "code": "SN-1"})

    assert unknown_kind.status_code == 400 and "kind" in unknown_kind.json()["errors"]
    assert unknown_serial.status_code == 404 and "code" in unknown_serial.json()["errors"]
    assert impossible.status_code == 400 and impossible.json()["errors"]["end"]
    assert elsewhere.status_code == 404
    assert ReportJob.objects.count() == 0


def test_a_job_not_done_has_no_download(genealogy, auditor, client_for):
    client = client_for(auditor)
    created = client.post(
        "/api/v1/reports/", {"kind": "trace_pdf", "code": "SN-3"}, content_type="application/json"
    )
    job_id = created.json()["id"]

    assert client.get(f"/api/v1/reports/{job_id}/").json()["download_url"] is None
    assert client.get(f"/api/v1/reports/{job_id}/download/").status_code == 404
    assert ReportJob.objects.get().status == ReportStatus.QUEUED
    assert SiteFactory  # keeps the plant factories importable here
