"""The integration console for supervisors: the outbox's health, the human queue, reconciliation."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from integration import selectors, services
from integration.delivery import nudge_delivery
from integration.forms import MessageResolveForm
from mes.errors import MesError
from mes.exports import csv_writer
from mes.forms import notify
from mes.permissions import permission_required

PAGE = "integration/console.html"


def _context(request, **extra) -> dict:
    mismatches_only = request.GET.get("mismatches") == "1"
    return {
        "snapshot": selectors.console_snapshot(user=request.user),
        "rows": selectors.reconciliation(user=request.user, mismatches_only=mismatches_only),
        "mismatches_only": mismatches_only,
        **extra,
    }


@permission_required("integration.view_outboxmessage")
def console(request):
    """The outbox and the reconciliation of the sites the supervisor may see."""
    template = f"{PAGE}#stats" if request.htmx else PAGE
    return render(request, template, _context(request))


def _resolve(request, pk: int, action, *, deliver: bool = False):
    # A message of an order on a site the person may not see is not theirs to retry or skip.
    message = get_object_or_404(selectors.messages_visible_to(request.user), pk=pk)
    form = MessageResolveForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            message = action(message_id=pk, user=request.user, reason=form.cleaned_data["reason"])
        except MesError as exc:
            form.refuse(exc)
            status = exc.status_code
        else:
            return _resolved(request, message, deliver=deliver)
    return _refused(request, message, form, status)


def _resolved(request, message, *, deliver: bool):
    if deliver:
        nudge_delivery()  # the service committed; a retried message is due now
    notice = gettext("Message %(id)s: %(status)s.") % {
        "id": message.pk,
        "status": message.get_status_display().lower(),
    }
    if request.htmx:
        # The message leaves the human queue: its card goes, the notice says what became of it.
        return notify(HttpResponse(""), "success", notice)
    messages.success(request, notice)
    return redirect("integration_console")


def _refused(request, message, form: MessageResolveForm, status: int):
    """The message's card again with the refusal at its field and the reason as typed: for htmx
    the card alone, for a plain post the whole console (the browser keeps nothing of a redirect)."""
    resolving = {"message_id": message.pk, "form": form}
    if request.htmx:
        response = render(request, f"{PAGE}#message", {"m": message, "resolving": resolving}, status=status)
        errors = [e for field_errors in form.errors.values() for e in field_errors]
        return notify(response, "error", " ".join(errors))
    context = _context(request, resolving=resolving)
    # A message no longer in the queue (acknowledged meanwhile) has no card: its refusal goes on top.
    resolving["in_queue"] = any(m.pk == message.pk for m in context["snapshot"].human_queue)
    return render(request, PAGE, context, status=status)


@require_POST
@permission_required("integration.resolve_outboxmessage")
def message_retry(request, pk: int):
    return _resolve(request, pk, services.outbox_retry, deliver=True)


@require_POST
@permission_required("integration.resolve_outboxmessage")
def message_skip(request, pk: int):
    return _resolve(request, pk, services.outbox_skip)


@require_POST
@permission_required("integration.resolve_outboxmessage")
def deliver_now(request):
    nudge_delivery()
    messages.success(request, gettext("Delivery asked for; due messages go out now."))
    return redirect("integration_console")


@permission_required("integration.view_outboxmessage")
def reconciliation_csv(request):
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="erp-reconciliation.csv"'
    writer = csv_writer(response)
    writer.writerow(
        [
            "order",
            "status",
            "material",
            "mes_good",
            "erp_good",
            "good_difference",
            "mes_scrap",
            "erp_scrap",
            "scrap_difference",
            "in_queue",
            "needs_attention",
            "matches",
        ]
    )
    mismatches_only = request.GET.get("mismatches") == "1"
    for r in selectors.reconciliation(user=request.user, mismatches_only=mismatches_only):
        quantities = [r.mes_good, r.erp_good, r.good_difference, r.mes_scrap, r.erp_scrap, r.scrap_difference]
        writer.writerow(
            [
                r.number,
                r.status,
                r.part_number,
                *(f"{q.normalize():f}" for q in quantities),
                r.in_queue,
                r.needs_attention,
                "yes" if r.matches else "no",
            ]
        )
    return response


urlpatterns = [
    path("integration/", console, name="integration_console"),
    path("integration/messages/<int:pk>/retry/", message_retry, name="integration_message_retry"),
    path("integration/messages/<int:pk>/skip/", message_skip, name="integration_message_skip"),
    path("integration/deliver/", deliver_now, name="integration_deliver_now"),
    path("integration/reconciliation.csv", reconciliation_csv, name="integration_reconciliation_csv"),
]
