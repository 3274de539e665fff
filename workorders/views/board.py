"""The supervisor's board: orders by line, filtered; create, release, hold, reprioritise, complete
short, close, cancel.

Each action parses its form (`workorders.forms`) and calls one service. A refusal answers with
its status and re-renders what the action showed: the order's row with the reason, or the new
order form with the reason at its field and what was typed (for htmx, the reason also as a notice
in `HX-Trigger`). A completion the guards refuse but a supervisor may override opens the row's
override form: a reason and the supervisor's password, which signs it.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseLocation

from mes.errors import MesError
from mes.filters import BIGINT_MAX
from mes.forms import answer_refused, notify, refusal, refusal_text, refuse
from mes.models import Line
from mes.permissions import permission_required
from mes.selectors import sites_visible_to
from workorders import services
from workorders.extensions import board_panel_urls
from workorders.forms import WorkOrderCreateForm, WorkOrderMoveForm, WorkOrderTransitionForm
from workorders.models import Routing
from workorders.selectors.floor import board_orders, reasons_of
from workorders.states import WORK_ORDER_TRANSITIONS, WorkOrderStatus


class BoardFilterForm(forms.Form):
    """The board's filters, from the query string; a value that is not one is left out with a
    message (a hand-edited `?line=abc` or `?due_before=2026-02-31` used to answer 500)."""

    line = forms.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    status = forms.MultipleChoiceField(required=False, choices=WorkOrderStatus.choices)
    due_before = forms.DateField(required=False, input_formats=["%Y-%m-%d"])

    def __init__(self, params):
        data = params.copy()
        # The status list's first option, "Open orders", sends an empty status.
        data.setlist("status", [s for s in params.getlist("status") if s])
        super().__init__(data)


def _filters(request) -> dict:
    form = BoardFilterForm(request.GET)
    form.is_valid()
    values = form.cleaned_data  # the valid filters only
    return {
        "line_id": values.get("line"),
        "statuses": values.get("status") or None,
        "due_before": values.get("due_before"),
        "refused": {name: errors[0] for name, errors in form.errors.items()},
    }


def _context(request, **extra) -> dict:
    filters = _filters(request)
    filters.pop("refused")
    visible = sites_visible_to(request.user)
    due_before = filters.pop("due_before")
    orders = board_orders(request.user, **filters, due_before=None)
    if due_before:
        orders = orders.filter(due__date__lt=due_before)
    return {
        "orders": orders,
        "lines": Line.objects.filter(site__in=visible).select_related("site"),
        "routings": Routing.objects.filter(active=True).select_related("product"),
        "statuses": WorkOrderStatus.choices,
        "hold_reasons": reasons_of("hold"),
        "transitions": WORK_ORDER_TRANSITIONS,
        "selected": {
            "line": filters["line_id"],
            "statuses": filters["statuses"] or [],
            "due_before": request.GET.get("due_before", ""),
        },
        **extra,
    }


@permission_required("workorders.view_workorder")
def board(request):
    refused = _filters(request)["refused"]
    for name, reason in refused.items():
        messages.warning(
            request, _("The filter %(name)s is left out: %(reason)s") % {"name": name, "reason": reason}
        )
    status = 400 if refused else 200
    if request.htmx:
        return render(request, "workorders/board.html#order_table", _context(request), status=status)
    context = _context(request, panels=board_panel_urls(request.user))
    return render(request, "workorders/board.html", context, status=status)


def _row(request, order_id: int, *, status: int = 200, error: MesError | None = None, override=None):
    """The order's row; `override` (the posted form) keeps the override open with its reason
    after a refused override, and an overridable refusal opens it."""
    order = get_object_or_404(board_orders(request.user, statuses=WorkOrderStatus.values), pk=order_id)
    context = _context(request, order=order, error=error, override=override)
    return render(request, "workorders/board.html#order_row", context, status=status)


@require_POST
@permission_required("workorders.transition_workorder")
def transition(request, pk: int):
    order = get_object_or_404(board_orders(request.user, statuses=WorkOrderStatus.values), pk=pk)
    form = WorkOrderTransitionForm(request.POST)
    try:
        if not form.is_valid():
            raise refusal(form)
        data = form.cleaned_data
        if data["status"] == "resume":
            services.workorder_release_hold(
                work_order_id=order.pk,
                user=request.user,
                key=data["idempotency_key"],
                version=data["version"],
                reason=data["reason"],
            )
        else:
            services.workorder_transition(
                work_order_id=order.pk,
                target=data["status"],
                user=request.user,
                key=data["idempotency_key"],
                version=data["version"],
                reason=data["reason"],
                reason_code=data["reason_code"] or None,
                override=data["override"],
                password=data["password"] or None,
                request=request,
            )
    except MesError as exc:
        overriding = getattr(form, "cleaned_data", {}).get("override")
        row = _row(request, pk, status=exc.status_code, error=exc, override=form if overriding else None)
        # The notice also has htmx swap the refused row in (static/js/mes.js), so the row shows
        # the reason where it applies, and the override form when the refusal may be overridden.
        return notify(row, "error", refusal_text(exc))
    return _row(request, pk)


@require_POST
@permission_required("workorders.change_workorder")
def move(request, pk: int):
    order = get_object_or_404(board_orders(request.user), pk=pk)
    form = WorkOrderMoveForm(request.POST)
    try:
        if not form.is_valid():
            raise refusal(form)
        services.workorder_move(
            work_order_id=order.pk, direction=form.cleaned_data["direction"], user=request.user
        )
    except MesError as exc:
        return HttpResponse(exc.message, status=exc.status_code)
    return render(request, "workorders/board.html#order_table", _context(request))


def _create_refused(request, form: WorkOrderCreateForm, exc: MesError) -> HttpResponse:
    """The new order form again, as typed, with the reason at its field and the refusal's status."""
    context = _context(request, create_form=form, error=exc)  # plain post: the whole board, the form open
    return answer_refused(request, exc, page="workorders/board.html", partial="create_form", context=context)


@require_POST
@permission_required("workorders.add_workorder")
def create(request):
    form = WorkOrderCreateForm(request.POST, user=request.user)
    if not form.is_valid():
        return _create_refused(request, form, refusal(form))
    data = form.cleaned_data
    try:
        order = services.workorder_create(
            number=data["number"].strip(),
            product=data["routing"].product,
            routing=data["routing"],
            line=data["line"],
            quantity=data["quantity"],
            due=data["due"],
            user=request.user,
        )
    except MesError as exc:
        refuse(form, exc)
        return _create_refused(request, form, exc)
    messages.success(request, _("Order %(number)s created as a draft.") % {"number": order.number})
    if request.htmx:
        return HttpResponseLocation(reverse("workorder_board"))
    return redirect("workorder_board")


urlpatterns = [
    path("board/", board, name="workorder_board"),
    path("board/orders/new/", create, name="workorder_create"),
    path("board/orders/<int:pk>/transition/", transition, name="workorder_transition"),
    path("board/orders/<int:pk>/move/", move, name="workorder_move"),
]
