"""The integration console for supervisors: the outbox's health, the human queue, reconciliation."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from integration import selectors, services, tasks
from mes.errors import MesError
from mes.exports import csv_writer
from mes.permissions import permission_required


@permission_required("integration.view_outboxmessage")
def console(request):
    """The outbox and the reconciliation of the sites the supervisor may see."""
    mismatches_only = request.GET.get("mismatches") == "1"
    context = {
        "snapshot": selectors.console_snapshot(user=request.user),
        "rows": selectors.reconciliation(user=request.user, mismatches_only=mismatches_only),
        "mismatches_only": mismatches_only,
    }
    template = "integration/console.html#stats" if request.htmx else "integration/console.html"
    return render(request, template, context)


def _resolve(request, pk: int, action):
    # A message of an order on a site the person may not see is not theirs to retry or skip.
    get_object_or_404(selectors.messages_visible_to(request.user), pk=pk)
    try:
        message = action(message_id=pk, user=request.user, reason=request.POST.get("reason", ""))
    except MesError as exc:
        messages.error(request, exc.message)
        return redirect("integration_console")
    messages.success(request, f"Message {message.pk}: {message.get_status_display().lower()}.")
    return redirect("integration_console")


@require_POST
@permission_required("integration.resolve_outboxmessage")
def message_retry(request, pk: int):
    return _resolve(request, pk, services.outbox_retry)


@require_POST
@permission_required("integration.resolve_outboxmessage")
def message_skip(request, pk: int):
    return _resolve(request, pk, services.outbox_skip)


@require_POST
@permission_required("integration.resolve_outboxmessage")
def deliver_now(request):
    tasks.nudge()
    messages.success(request, "Delivery asked for; due messages go out now.")
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
