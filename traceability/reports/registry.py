"""From a report kind and its parameters to the built file."""

from __future__ import annotations

from django.utils.translation import gettext

from mes.errors import ValidationFailed
from traceability.audit import AuditFilter
from traceability.models import ReportKind
from traceability.reports import audit_trail, epcis, trace
from traceability.reports.base import Built, Progress, no_progress
from traceability.selectors import DIRECTIONS, lot_for_trace

TRACE_FORMATS = {
    ReportKind.TRACE_PDF: "pdf",
    ReportKind.TRACE_CSV: "csv",
    ReportKind.TRACE_JSON: "json",
    ReportKind.TRACE_EPCIS: "epcis",
}
AUDIT_FORMATS = {ReportKind.AUDIT_PDF: "pdf", ReportKind.AUDIT_CSV: "csv"}
FORMAT_KINDS = {fmt: kind for kind, fmt in TRACE_FORMATS.items()}
TRACE_BUILDERS = {
    "pdf": trace.build_pdf,
    "csv": trace.build_csv,
    "json": trace.build_json,
    "epcis": epcis.build_epcis,
}


def build_trace(*, code: str, direction: str, fmt: str, user, progress: Progress = no_progress) -> Built:
    """A trace report of the lot or serial `code` as `user` sees it, in `fmt` (pdf, csv, json, epcis)."""
    lot = lot_for_trace(user=user, code=code)
    if direction not in DIRECTIONS:
        raise ValidationFailed(gettext("The direction is 'backward' or 'forward'."), field="direction")
    doc = trace.trace_document(lot=lot, direction=direction, user=user, progress=progress)
    return TRACE_BUILDERS[fmt](doc, progress)


def audit_filter(params: dict) -> AuditFilter:
    return AuditFilter(
        model=params.get("model") or None,
        record=params.get("record") or None,
        user=params.get("user") or None,
        start=params.get("start") or None,
        end=params.get("end") or None,
    ).clean()


def audit_params(params: dict) -> dict:
    """The parameters of an audit-trail report, checked and as the job keeps them."""
    return audit_trail.filter_params(audit_filter(params))


def build(kind: str, params: dict, *, user, progress: Progress = no_progress) -> Built:
    if kind in TRACE_FORMATS:
        return build_trace(
            code=params["code"], direction=params["direction"], fmt=TRACE_FORMATS[kind], user=user,
            progress=progress,
        )  # fmt: skip
    flt = audit_filter(params)
    if kind == ReportKind.AUDIT_PDF:
        return audit_trail.build_pdf(flt, user=user, progress=progress)
    return audit_trail.build_csv(flt, progress=progress)
