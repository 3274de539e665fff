"""The supervisor's board: orders by line, filtered; create, release, hold, reprioritise, close, cancel."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from mes.errors import MesError, ValidationFailed
from mes.filters import BIGINT_MAX
from mes.forms import posted_id
from mes.idempotency import parse_key
from mes.models import Line
from mes.permissions import permission_required
from mes.selectors import sites_visible_to
from workorders import services
from workorders.extensions import board_panel_urls
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
        messages.warning(request, f"The filter {name} is left out: {reason}")
    status = 400 if refused else 200
    if request.htmx:
        return render(request, "workorders/board.html#order_table", _context(request), status=status)
    context = _context(request, panels=board_panel_urls(request.user))
    return render(request, "workorders/board.html", context, status=status)


def _row(request, order_id: int, *, status: int = 200, error: MesError | None = None):
    order = get_object_or_404(board_orders(request.user, statuses=WorkOrderStatus.values), pk=order_id)
    context = _context(request, order=order, error=error)
    return render(request, "workorders/board.html#order_row", context, status=status)


@require_POST
@permission_required("workorders.transition_workorder")
def transition(request, pk: int):
    order = get_object_or_404(board_orders(request.user, statuses=WorkOrderStatus.values), pk=pk)
    target = request.POST.get("status", "")
    try:
        key = parse_key(request.POST.get("idempotency_key"))
        if target == "resume":
            services.workorder_release_hold(
                work_order_id=order.pk,
                user=request.user,
                key=key,
                version=request.POST.get("version"),
                reason=request.POST.get("reason", ""),
            )
        else:
            services.workorder_transition(
                work_order_id=order.pk,
                target=target,
                user=request.user,
                key=key,
                version=request.POST.get("version"),
                reason=request.POST.get("reason", ""),
                reason_code=request.POST.get("reason_code") or None,
            )
    except MesError as exc:
        return _row(request, pk, status=exc.status_code, error=exc)
    return _row(request, pk)


@require_POST
@permission_required("workorders.change_workorder")
def move(request, pk: int):
    order = get_object_or_404(board_orders(request.user), pk=pk)
    try:
        services.workorder_move(
            work_order_id=order.pk, direction=request.POST.get("direction", ""), user=request.user
        )
    except MesError as exc:
        return HttpResponse(exc.message, status=exc.status_code)
    return render(request, "workorders/board.html#order_table", _context(request))


@require_POST
@permission_required("workorders.add_workorder")
def create(request):
    visible = sites_visible_to(request.user)
    try:
        routing_id = posted_id(request, "routing")
        line_id = posted_id(request, "line")
        routing = Routing.objects.filter(pk=routing_id).select_related("product").first()
        line = Line.objects.filter(pk=line_id, site__in=visible).first()
        if routing is None:
            raise ValidationFailed("Choose a routing.", field="routing")
        if line is None:
            raise ValidationFailed("Choose a line.", field="line")
        due_text = request.POST.get("due", "")
        due = parse_datetime(due_text) if due_text else None
        if due_text and due is None:
            raise ValidationFailed("The due date is not a date and time.", field="due")
        order = services.workorder_create(
            number=request.POST.get("number", "").strip(),
            product=routing.product,
            routing=routing,
            line=line,
            quantity=request.POST.get("quantity", ""),
            due=due,
            user=request.user,
        )
    except MesError as exc:
        messages.error(request, f"{exc.field + ': ' if exc.field else ''}{exc.message}")
        return redirect("workorder_board")
    messages.success(request, f"Order {order.number} created as a draft.")
    return redirect("workorder_board")


urlpatterns = [
    path("board/", board, name="workorder_board"),
    path("board/orders/new/", create, name="workorder_create"),
    path("board/orders/<int:pk>/transition/", transition, name="workorder_transition"),
    path("board/orders/<int:pk>/move/", move, name="workorder_move"),
]
