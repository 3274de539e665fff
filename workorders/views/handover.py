"""Handovers between shifts on the tablet, and the waiting ones on the supervisor's board.

After a badge sign-in the tablet opens on the queue; the queue first sends the person to the
handovers page when handovers wait at this workstation that this session has not shown yet
(`handover_gate`), so each is seen once at sign-in without trapping anyone: "Later" goes on to
the queue, and the handover keeps waiting on the board until someone acknowledges it.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from mes import tablets
from mes.errors import MesError
from mes.forms import refusal, refuse
from mes.permissions import permission_required
from workorders.models import Handover
from workorders.selectors.handover import handovers_left_at, handovers_waiting_at, handovers_waiting_for_board
from workorders.services.handover import NOTE_MAX_LENGTH, handover_acknowledge, handover_leave

PERMISSION = "workorders.record_production"
BOARD_PERMISSION = "workorders.view_workorder"
# The handovers this session was shown (ids): a new sign-in starts a new session.
SHOWN = "mes_handovers_shown"


def handover_gate(request, workstation):
    """The redirect to the handovers page when some wait here that this session has not shown,
    else None. Only for a whole page: the queue's htmx refreshes are left alone."""
    if request.htmx:
        return None
    shown = set(request.session.get(SHOWN, []))
    if any(h.pk not in shown for h in handovers_waiting_at(workstation, request.user)):
        return redirect("workstation_handovers")
    return None


class HandoverForm(forms.Form):
    scope = forms.ChoiceField(
        choices=[("workstation", gettext_lazy("This workstation")), ("line", gettext_lazy("The whole line"))],
        initial="workstation",
    )
    open_issues = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH, strip=True)
    material = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH, strip=True)
    machine_condition = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH, strip=True)
    quality_watch_outs = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH, strip=True)
    idempotency_key = forms.UUIDField(
        error_messages={
            "required": gettext_lazy("The form lost its key; reload the page."),
            "invalid": gettext_lazy("Reload the page."),
        }
    )


def _inbox(request, workstation, *, error: MesError | None = None):
    waiting = handovers_waiting_at(workstation, request.user)
    request.session[SHOWN] = sorted(set(request.session.get(SHOWN, [])) | {h.pk for h in waiting})
    context = {
        "workstation": workstation,
        "tz": workstation.line.site.time_zone,
        "waiting": waiting,
        "error": error,
    }
    return render(
        request,
        "workorders/tablet/handover_inbox.html",
        context,
        status=error.status_code if error else 200,
    )


@never_cache
@require_safe
@permission_required(PERMISSION)
@tablets.on_bound_tablet
def inbox(request, workstation):
    """The handovers waiting at this workstation, each with its Acknowledge button."""
    return _inbox(request, workstation)


@never_cache
@require_POST
@permission_required(PERMISSION)
@tablets.on_bound_tablet
def acknowledge(request, workstation, pk: int):
    try:
        handover_acknowledge(handover_id=pk, user=request.user, workstation=workstation)
    except MesError as exc:
        return _inbox(request, workstation, error=exc)
    if handovers_waiting_at(workstation, request.user):
        return redirect("workstation_handovers")
    return redirect("workstation_queue")


def _form_page(request, workstation, form, *, error: MesError | None = None):
    context = {
        "workstation": workstation,
        "tz": workstation.line.site.time_zone,
        "form": form,
        "recent": handovers_left_at(workstation),
        "error": error,
    }
    return render(
        request,
        "workorders/tablet/handover_form.html",
        context,
        status=error.status_code if error else 200,
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@permission_required(PERMISSION)
@tablets.on_bound_tablet
def leave(request, workstation):
    """Leave a handover for the next shift; a refusal shows the form again with what was typed."""
    if request.method != "POST":
        form = HandoverForm(initial={"idempotency_key": uuid.uuid4()})
        return _form_page(request, workstation, form)
    form = HandoverForm(request.POST)
    if not form.is_valid():
        return _form_page(request, workstation, form, error=refusal(form))
    data = form.cleaned_data
    try:
        handover_leave(
            user=request.user,
            workstation=workstation,
            scope=data["scope"],
            notes={name: data[name] for name in Handover.NOTES},
            key=data["idempotency_key"],
        )
    except MesError as exc:
        refuse(form, exc)
        return _form_page(request, workstation, form, error=exc)
    messages.success(request, _("Handover left for the next shift."))
    return redirect("workstation_queue")


@never_cache
@require_safe
@permission_required(BOARD_PERMISSION)
def board_panel(request):
    """The board's "Handovers not yet read" section, refreshed by the board."""
    waiting, total = handovers_waiting_for_board(request.user)
    return render(request, "workorders/handover_board_list.html", {"waiting": waiting, "total": total})


urlpatterns = [
    path("workstation/handovers/", inbox, name="workstation_handovers"),
    path("workstation/handovers/new/", leave, name="workstation_handover_new"),
    path("workstation/handovers/<int:pk>/acknowledge/", acknowledge, name="workstation_handover_acknowledge"),
    path("board/handovers/", board_panel, name="handover_board_panel"),
]
