"""The auditor's audit-trail pages: filter the history of every regulated record, read one
record's full history as a diff, and seal the trail on demand. Read-only but for the seal."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from mes import seal
from mes.errors import MesError, ValidationFailed
from mes.permissions import permission_required
from traceability.api_audit import MAX_OFFSET
from traceability.audit import AuditFilter, audit_entries, audited_models, record_kind_name

VIEW_AUDIT = "mes.view_auditseal"
SEAL_AUDIT = "mes.seal_audit_trail"
PAGE_SIZE = 50
# Each page reads every history table down to its last row, so paging goes as deep as the API's
# offset (traceability.api_audit.MAX_OFFSET); further back, a narrower period finds the rows.
MAX_PAGE = MAX_OFFSET // PAGE_SIZE
FILTER_FIELDS = ("model", "record", "user", "start", "end")


def _page_number(value) -> int:
    """The page asked for: 1 when none; a page that is not a number from 1 to MAX_PAGE is refused."""
    text = str(value or "")
    if not text:
        return 1
    if not (re.fullmatch(r"[0-9]{1,6}", text) and 1 <= int(text) <= MAX_PAGE):
        raise ValidationFailed(
            gettext("Pages go from 1 to %(MAX_PAGE)s; to read further back, choose a shorter period.")
            % {"MAX_PAGE": MAX_PAGE},
            field="page",
            code="invalid_page",
        )
    return int(text)


def _model_choices():
    return [(label, record_kind_name(m)) for label, m in audited_models().items()]


@permission_required(VIEW_AUDIT)
def audit_trail(request):
    """The audit trail, newest first, filtered by kind of record, record, user and period."""
    values = {name: request.GET.get(name, "").strip() for name in FILTER_FIELDS}
    context = {
        "values": values,
        "models": _model_choices(),
        "page": 1,
        "last_seal": seal.AuditSeal.objects.order_by("-number").first(),
        "can_seal": request.user.has_perm(SEAL_AUDIT),
    }
    try:
        page = context["page"] = _page_number(request.GET.get("page"))
        entries = audit_entries(
            AuditFilter(**values, viewer=request.user).clean(),
            limit=PAGE_SIZE + 1,
            offset=(page - 1) * PAGE_SIZE,
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
        raise Http404(gettext("No such kind of record."))
    try:
        page = _page_number(request.GET.get("page"))
    except MesError as exc:
        return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain; charset=utf-8")
    try:
        # A record on a site the auditor may not see is not found, like one that never was.
        flt = AuditFilter(model=model, record=str(pk), viewer=request.user).clean()
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
            request,
            gettext("Sealed %(rows)s history rows: seal %(number)s, hash %(hash)s…")
            % {"rows": rows, "number": sealed[-1].number, "hash": sealed[-1].hash[:16]},
        )
    else:
        messages.info(request, gettext("Nothing new to seal."))
    return redirect("audit_trail")
