"""Reports speak the language they were asked for in; their data (and so their hash) does not."""

import io

import pytest
from django.utils import translation
from pypdf import PdfReader

from traceability import services
from traceability.models import ReportStatus
from traceability.reports import trace
from traceability.tests.factories import checklist_run, signature

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_a_trace_pdf_asked_for_in_spanish_is_written_in_spanish(genealogy, auditor, settings):
    settings.REPORT_JOBS_INLINE = True
    run = checklist_run(genealogy, genealogy.orders["fin"])
    signature(run, genealogy.user)
    with translation.override("es"):
        job = services.report_job_create(
            user=auditor, kind="trace_pdf", params={"code": "SN-3", "direction": "backward"}
        )

    done = services.report_job_run(job_id=job.pk)  # the worker's own language is English

    assert done.status == ReportStatus.DONE, done.error
    assert done.language == "es"
    text = pdf_text(done.file.read())
    for heading in (
        "Trazabilidad hacia atrás del número de serie SN-3",
        "Genealogía",
        "Contexto de producción",
        "Generado por Audrey Auditor",
        "Hash del contenido",
        "Página 1 de",
    ):
        assert heading in text
    assert "Backward trace" not in text and "Genealogy" not in text


def test_the_trace_data_and_its_hash_are_the_same_in_every_language(genealogy, auditor):
    run = checklist_run(genealogy, genealogy.orders["fin"])
    signature(run, genealogy.user)
    lot = genealogy.lots["SN-3"]
    english = trace.trace_document(lot=lot, direction="backward", user=auditor)
    with translation.override("de"):
        german = trace.trace_document(lot=lot, direction="backward", user=auditor)
        pdf = pdf_text(trace.build_pdf(german).content)

    assert german.content_hash == english.content_hash
    assert german.data == english.data
    assert "Rückwärtsverfolgung der Seriennummer SN-3" in pdf
    # Dates as the language writes them: 2026-03-02 is 02.03.2026 in German.
    assert "02.03.2026" in pdf
