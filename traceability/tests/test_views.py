import io

import pytest
from pypdf import PdfReader

from mes import roles
from traceability import selectors
from traceability.models import ReportJob, ReportStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _inline_jobs(settings, tmp_path):
    settings.REPORT_JOBS_INLINE = True
    settings.MEDIA_ROOT = tmp_path


def test_auditor_sees_both_trees_with_context_and_the_recall_list(genealogy, auditor, client_for):
    client = client_for(auditor)

    page = client.get("/trace/", {"q": "SUB-1"})

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="trace-backward"' in html and 'id="trace-forward"' in html
    for code in ("STEEL-1", "SCREW-1", "SN-1", "SN-2", "SN-3"):
        assert f'data-lot="{code}"' in html
    assert "Affected units (recall list)" in html
    assert "WO-SUB-1" in html and "ASM1" in html
    for direction in ("backward", "forward"):
        trace = selectors.trace(genealogy.lots["SUB-1"], direction)
        assert f"{len(trace.nodes)} lots and serials, {len(trace.edges)} links" in html


def test_the_trace_page_is_in_the_navigation_of_auditors_quality_and_supervisors(
    genealogy, make_user, client_for
):
    for role in (roles.AUDITOR, roles.QUALITY, roles.SUPERVISOR):
        html = client_for(make_user(role)).get("/trace/").content.decode()
        assert 'href="/trace/"' in html, role


def test_operators_may_not_trace(genealogy, operator, client_for):
    assert client_for(operator).get("/trace/", {"q": "SN-1"}).status_code == 403


def test_unknown_serial_is_a_clear_message_not_an_error(genealogy, auditor, client_for):
    page = client_for(auditor).get("/trace/", {"q": "SN-404"})

    assert page.status_code == 404
    assert "No serial, lot or order &#x27;SN-404&#x27; on the sites you may see." in page.content.decode()


def test_another_sites_lot_is_not_shown(genealogy, local_quality, client_for):
    page = client_for(local_quality).get("/trace/", {"q": "SN-1"})

    assert page.status_code == 404
    assert 'data-lot="SN-1"' not in page.content.decode()


def test_an_order_number_lists_its_output_serials(genealogy, auditor, client_for):
    html = client_for(auditor).get("/trace/", {"q": "WO-FIN-1"}).content.decode()

    assert "Order WO-FIN-1" in html
    for sn in ("SN-1", "SN-2", "SN-3", "SN-4"):
        assert f"lot={sn}" in html


def test_direct_csv_json_and_epcis_exports(genealogy, auditor, client_for):
    client = client_for(auditor)

    csv_ = client.get("/trace/SN-3/export.csv", {"direction": "backward"})
    json_ = client.get("/trace/STEEL-1/export.json", {"direction": "forward"})
    epcis = client.get("/trace/SN-3/export.epcis")
    unknown = client.get("/trace/NOPE/export.csv")

    assert csv_.status_code == 200 and csv_["Content-Type"] == "text/csv"
    assert "SUB-2" in csv_.content.decode()
    assert [a["lot"] for a in json_.json()["trace"]["affected"]] == ["SN-1", "SN-2", "SN-3"]
    assert json_["X-Content-SHA256"] == json_.json()["content_hash"]
    assert epcis.json()["type"] == "EPCISDocument"
    assert unknown.status_code == 404


def test_pdf_report_job_runs_and_downloads(
    genealogy, auditor, client_for, django_capture_on_commit_callbacks
):
    client = client_for(auditor)

    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/reports/new/", {"kind": "trace_pdf", "code": "SN-3", "direction": "backward"})
    job = ReportJob.objects.get()
    page = client.get(created["Location"])
    download = client.get(f"/reports/{job.pk}/download/")

    assert created.status_code == 302 and created["Location"] == f"/reports/{job.pk}/"
    assert job.status == ReportStatus.DONE and job.progress == 100 and len(job.content_hash) == 64
    assert "Download trace-SN-3-backward.pdf" in page.content.decode()
    content = b"".join(download.streaming_content)
    assert content.startswith(b"%PDF")
    assert "SN-3" in PdfReader(io.BytesIO(content)).pages[0].extract_text()


def test_a_report_job_is_only_for_its_requester(genealogy, auditor, make_user, client_for,
                                                django_capture_on_commit_callbacks):  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        client_for(auditor).post("/reports/new/", {"kind": "trace_csv", "code": "SN-3"})
    job = ReportJob.objects.get()
    other = client_for(make_user(roles.AUDITOR))

    assert other.get(f"/reports/{job.pk}/").status_code == 404
    assert other.get(f"/reports/{job.pk}/download/").status_code == 404


def test_progress_polling_returns_the_fragment_while_queued(genealogy, auditor, client_for):
    client = client_for(auditor)
    client.post("/reports/new/", {"kind": "trace_pdf", "code": "SN-3"})  # not committed-and-run here
    job = ReportJob.objects.get()

    fragment = client.get(f"/reports/{job.pk}/", headers={"HX-Request": "true"}).content.decode()

    assert fragment.strip().startswith('<div id="report-progress"')
    assert 'hx-trigger="every 1s"' in fragment and 'role="progressbar"' in fragment


def test_a_big_trace_is_cut_on_the_page_but_not_in_the_exports(genealogy, auditor, client_for, monkeypatch):
    from traceability.views import trace as trace_views

    monkeypatch.setattr(trace_views, "TREE_LIMIT", 1)
    monkeypatch.setattr(trace_views, "CONTEXT_LIMIT", 2)
    client = client_for(auditor)

    html = client.get("/trace/", {"q": "STEEL-1", "direction": "forward"}).content.decode()
    exported = client.get("/trace/STEEL-1/export.json", {"direction": "forward"}).json()

    assert "This trace is large" in html and "(further lots left out here)" in html
    page = html.split("<main", 1)[1]  # the trace, not the navigation's groups
    assert page.count("<details") == page.count("</details>") == 1
    assert len(exported["trace"]["nodes"]) == 5
