"""The desk pages of production records: the auditor's list, the review page (exceptions first,
then the full record), comments, the signed release or rejection, and the PDF."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from mes.errors import MesError, ValidationFailed
from mes.permissions import permission_required
from traceability.models import RecordStatus
from traceability.record import services
from traceability.record.forms import CommentForm, DecisionForm, RecordFilterForm
from traceability.record.pdf import record_pdf
from traceability.record.review import record_view, records_for
from traceability.record.selectors import order_for_record
from workorders.selectors.floor import reason_names

VIEW_RECORD = "traceability.view_recordreview"
REVIEW = services.REVIEW_PERMISSION
PAGE_SIZE = 50


@require_safe
@permission_required(VIEW_RECORD)
def record_list(request):
    form = RecordFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = records_for(request.user, **{k: v for k, v in filters.items() if v})
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "traceability/record/list.html",
        {"form": form, "page": page, "statuses": RecordStatus},
        status=200 if form.is_bound is False or form.is_valid() else 400,
    )


def _page(request, number: str, *, comment_form=None, decision_form=None, error: MesError | None = None):
    order = order_for_record(user=request.user, number=number)
    view = record_view(order)
    context = {
        "order": order,
        "view": view,
        "record": view.record.content,
        # The record holds reasons in the site's language (it is sealed); the page names them in the reader's.
        "reason_names": reason_names(),
        "can_review": request.user.has_perm(REVIEW),
        "comment_form": comment_form,
        "decision_form": decision_form or DecisionForm(),
        "error": error,
    }
    return render(
        request, "traceability/record/detail.html", context, status=error.status_code if error else 200
    )


@require_safe
@permission_required(VIEW_RECORD)
def record_page(request, number: str):
    try:
        return _page(request, number)
    except MesError as exc:
        return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain")


@require_POST
@permission_required(REVIEW)
def record_comment(request, number: str):
    form = CommentForm(request.POST)
    try:
        order = order_for_record(user=request.user, number=number)
        if form.is_valid():
            services.record_comment(
                work_order=order,
                user=request.user,
                exception_key=form.cleaned_data["exception_key"],
                text=form.cleaned_data["text"],
            )
            return redirect(
                reverse("record_page", args=[number]) + f"#x-{form.cleaned_data['exception_key']}"
            )
        field, errors = next(iter(form.errors.items()))
        raise ValidationFailed(errors[0], field=field)
    except MesError as exc:
        if exc.field and exc.field in form.fields:
            form.add_error(exc.field, exc.message)
        return _error_page(request, number, exc, comment_form=form)


@require_POST
@permission_required(REVIEW)
def record_decide(request, number: str, decision: str):
    form = DecisionForm(request.POST)
    try:
        order = order_for_record(user=request.user, number=number)
        if not form.is_valid():
            field, errors = next(iter(form.errors.items()))
            raise ValidationFailed(errors[0], field=field)
        act = services.record_release if decision == "release" else services.record_reject
        act(
            work_order=order,
            user=request.user,
            password=form.cleaned_data["password"],
            comment=form.cleaned_data["comment"],
            request=request,
        )
        return redirect("record_page", number=number)
    except MesError as exc:
        if exc.field and exc.field in form.fields:
            form.add_error(exc.field, exc.message)
        return _error_page(request, number, exc, decision_form=form)


def _error_page(request, number: str, exc: MesError, **forms):
    """The page again with the refusal and what was typed (the password is never sent back)."""
    try:
        return _page(request, number, error=exc, **forms)
    except MesError as missing:
        return HttpResponse(missing.message, status=missing.status_code, content_type="text/plain")


@require_safe
@permission_required(VIEW_RECORD)
def record_export_pdf(request, number: str):
    try:
        order = order_for_record(user=request.user, number=number)
    except MesError as exc:
        return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain")
    view = record_view(order)
    response = HttpResponse(record_pdf(view), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="record-{order.number}.pdf"'
    response["X-Content-SHA256"] = view.content_hash
    return response
