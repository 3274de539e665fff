"""The auditor's audit-trail pages: filter the history of every regulated record, read one
record's full history as a diff, and seal the trail on demand. Read-only but for the seal."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mes import audit as seal
from mes.errors import MesError
from mes.permissions import permission_required
from traceability.audit import AuditFilter, audit_entries, audited_models

VIEW_AUDIT = "mes.view_auditseal"
SEAL_AUDIT = "mes.seal_audit_trail"
PAGE_SIZE = 50
FILTER_FIELDS = ("model", "record", "user", "start", "end")


def _page_number(value) -> int:
    return int(value) if str(value or "").isdigit() and int(value) > 0 else 1


def _model_choices():
    return [(label, str(m._meta.verbose_name).capitalize()) for label, m in audited_models().items()]


@permission_required(VIEW_AUDIT)
def audit_trail(request):
    """The audit trail, newest first, filtered by kind of record, record, user and period."""
    values = {name: request.GET.get(name, "").strip() for name in FILTER_FIELDS}
    page = _page_number(request.GET.get("page"))
    context = {
        "values": values,
        "models": _model_choices(),
        "page": page,
        "last_seal": seal.AuditSeal.objects.order_by("-number").first(),
        "can_seal": request.user.has_perm(SEAL_AUDIT),
    }
    try:
        entries = audit_entries(
            AuditFilter(**values).clean(), limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
        )
    except MesError as exc:
        return render(
            request, "traceability/audit_trail.html", {**context, "error": exc}, status=exc.status_code
        )
    query = {k: v for k, v in values.items() if v}
    context.update(
        entries=entries[:PAGE_SIZE],
        next_url=f"?{urlencode({**query, 'page': page + 1})}" if len(entries) > PAGE_SIZE else "",
        previous_url=f"?{urlencode({**query, 'page': page - 1})}" if page > 1 else "",
    )
    return render(request, "traceability/audit_trail.html", context)


@permission_required(VIEW_AUDIT)
def audit_record(request, model: str, pk: int):
    """One record's full history, newest first: every change field by field, with who, when, why
    and the seal that covers it."""
    model = model.lower()
    if model not in audited_models():
        raise Http404("No such kind of record.")
    page = _page_number(request.GET.get("page"))
    try:
        flt = AuditFilter(model=model, record=str(pk)).clean()
    except MesError as exc:
        raise Http404(exc.message) from None
    entries = audit_entries(flt, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    first = entries[0] if entries else None
    context = {
        "entries": entries[:PAGE_SIZE],
        "model": model,
        "verbose_name": first.verbose_name if first else model,
        "record": first.record if first else pk,
        "record_id": pk,
        "page": page,
        "next_url": f"?page={page + 1}" if len(entries) > PAGE_SIZE else "",
        "previous_url": f"?page={page - 1}" if page > 1 else "",
    }
    return render(request, "traceability/audit_record.html", context)


@require_POST
@permission_required(SEAL_AUDIT)
def audit_seal(request):
    """Seal the history rows no seal covers yet (what the periodic task does, now)."""
    sealed = seal.seal_audit_trail(user=request.user, trigger=seal.Trigger.PAGE)
    if sealed:
        rows = sum(s.row_count for s in sealed)
        messages.success(
            request, f"Sealed {rows} history rows: seal {sealed[-1].number}, hash {sealed[-1].hash[:16]}…"
        )
    else:
        messages.info(request, "Nothing new to seal.")
    return redirect("audit_trail")
