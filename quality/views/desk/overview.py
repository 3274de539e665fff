"""Quality's overview: open nonconformances, active holds, forms due and SPC charts, the small
summary the supervisor's board loads, and one SPC chart."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render

from mes.models import Workstation
from mes.permissions import permission_required
from mes.selectors import sites_visible_to
from quality import charts, selectors
from quality.models import ChecklistItem
from quality.spc import spc_signals
from quality.states import ItemKind
from quality.views.desk.common import VIEW_NC
from quality.views.desk.forms import HoldPlaceForm, NonconformanceOpenForm
from workorders.models import WorkOrder
from workorders.states import OPEN

PAGE = "quality/overview.html"


def overview_context(request, **forms) -> dict:
    """The overview page, with fresh forms unless `forms` brings one back as it was typed."""
    user = request.user
    charts_ = []
    for item, station in selectors.spc_series(user)[:12]:
        chart = selectors.spc_chart(item=item, workstation=station)
        charts_.append({"chart": chart, "svg": charts.spc_svg(chart)})
    return {
        "nonconformances": selectors.open_nonconformances(user)[:200],
        "holds": selectors.active_holds(user),
        "summary": selectors.quality_summary(user),
        "forms_due": selectors.forms_due_for_user(user),
        "charts": charts_,
        "orders": WorkOrder.objects.filter(line__site__in=sites_visible_to(user), status__in=OPEN).order_by(
            "number"
        ),
        "sites": sites_visible_to(user),
        "nc_open_form": NonconformanceOpenForm(),
        "hold_place_form": HoldPlaceForm(),
        "release_forms": {},  # the hold whose release was refused: its form as typed
        **forms,
    }


@permission_required(VIEW_NC)
def overview(request):
    return render(request, PAGE, overview_context(request))


@permission_required(VIEW_NC)
def summary(request):
    """The small summary the supervisor's board loads (open nonconformances, holds, forms due)."""
    forms_due = selectors.forms_due_for_user(request.user)
    context = {
        "summary": selectors.quality_summary(request.user),
        "forms_due": forms_due,
        "overdue": sum(1 for _, form in forms_due if form.overdue),
    }
    return render(request, "quality/partials/summary.html", context)


@permission_required(VIEW_NC)
def spc(request, item_pk: int, workstation_pk: int):
    item = get_object_or_404(
        ChecklistItem.objects.select_related("version__template"), pk=item_pk, kind=ItemKind.NUMBER
    )
    station = get_object_or_404(
        Workstation.objects.filter(line__site__in=sites_visible_to(request.user)), pk=workstation_pk
    )
    chart = selectors.spc_chart(item=item, workstation=station)
    context = {
        "chart": chart,
        "svg": charts.spc_svg(chart),
        "signals": spc_signals(item=item, workstation=station),
    }
    return render(request, "quality/spc.html", context)
