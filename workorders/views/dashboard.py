"""The supervisor's live dashboards (site tiles, line view, wall screen) and andon calls.

The pages render the tiles and the `<template>`s of what may come later (a workstation, an andon
call with the answers this person may give, an event), with their URLs; static/js/live.js fills
in the values from the websocket snapshot and keeps them current from its deltas. The andon
endpoints call one service each.
"""

from __future__ import annotations

import re

from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from mes import tablets
from mes.errors import MesError
from mes.idempotency import parse_key
from mes.models import Line
from mes.permissions import permission_required
from mes.selectors import sites_visible_to
from workorders.consumers import heartbeat_seconds
from workorders.live.models import AndonCall
from workorders.live.projection import OPEN_ANDON
from workorders.live.selectors import hourly_chart
from workorders.live.states import ANDON_TRANSITIONS, AndonKind, AndonStatus
from workorders.selectors.floor import reason_names
from workorders.services.andon import andon_acknowledge, andon_raise, andon_resolve

VIEW = "workorders.view_linestatus"


def _wall(request) -> dict:
    rotate = request.GET.get("rotate", "")
    return {
        "wall": request.GET.get("wall") == "1",
        # A hand-edited value out of range just turns rotation off ("²" and long runs of digits
        # pass str.isdigit but not int()).
        "rotate": int(rotate) if re.fullmatch(r"[0-9]{1,3}", rotate) and 5 <= int(rotate) <= 600 else 0,
        "heartbeat": heartbeat_seconds(),
    }


# The answers to an andon call on the dashboard: (verb, the status it moves the call to, label, style).
ANDON_ANSWERS = [
    ("acknowledge", AndonStatus.ACKNOWLEDGED, gettext_lazy("Acknowledge"), "btn-warn"),
    ("resolve", AndonStatus.RESOLVED, gettext_lazy("Resolve"), "btn-ok"),
]


def _andon_answers(user) -> list[dict]:
    """The answers this person may give to an andon call, each with its URL (for call 0: the
    page puts in the call's id) and the call statuses that allow it."""
    if not user.has_perm("workorders.change_andoncall"):
        return []
    return [
        {
            "verb": verb,
            "label": label,
            "style": style,
            "url": reverse(f"andon_{verb}", args=[0]),
            "when": " ".join(status for status in AndonStatus.values if target in ANDON_TRANSITIONS[status]),
        }
        for verb, target, label, style in ANDON_ANSWERS
    ]


def _page(request) -> dict:
    return {**_wall(request), "andon_answers": _andon_answers(request.user), "reason_names": reason_names()}


@require_GET
@permission_required(VIEW)
def live_home(request):
    site = sites_visible_to(request.user).order_by("code").first()
    if site is None:
        raise Http404(gettext("You see no site."))
    # The wall screen's settings (?wall=1&rotate=20) go along to the site's page.
    query = request.GET.urlencode()
    return redirect(reverse("live_site", args=[site.pk]) + (f"?{query}" if query else ""))


@never_cache
@require_GET
@permission_required(VIEW)
def live_site(request, pk: int):
    site = sites_visible_to(request.user).filter(pk=pk).first()
    if site is None:
        raise Http404(gettext("No such site."))
    context = {
        "site": site,
        "sites": sites_visible_to(request.user).order_by("code"),
        "lines": Line.objects.filter(site=site).order_by("code"),
        "ws_path": f"/ws/live/sites/{site.pk}/",
        "scope": "site",
        **_page(request),
    }
    return render(request, "workorders/dashboard/site.html", context)


def _visible_line(request, pk: int) -> Line:
    line = Line.objects.filter(pk=pk, site__in=sites_visible_to(request.user)).select_related("site").first()
    if line is None:
        raise Http404(gettext("No such line."))
    return line


@never_cache
@require_GET
@permission_required(VIEW)
def live_line(request, pk: int):
    line = _visible_line(request, pk)
    context = {
        "site": line.site,
        "line": line,
        "ws_path": f"/ws/live/lines/{line.pk}/",
        "scope": "line",
        **_page(request),
    }
    return render(request, "workorders/dashboard/line.html", context)


@never_cache
@require_GET
@permission_required(VIEW)
def live_line_chart(request, pk: int):
    return JsonResponse(hourly_chart(_visible_line(request, pk)))


def _answer(request, pk: int, service):
    try:
        call = service(call_id=pk, user=request.user)
    except MesError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status_code)
    return JsonResponse({"id": call.pk, "status": call.status})


@require_POST
@permission_required("workorders.change_andoncall")
def andon_acknowledge_view(request, pk: int):
    return _answer(request, pk, andon_acknowledge)


@require_POST
@permission_required("workorders.change_andoncall")
def andon_resolve_view(request, pk: int):
    return _answer(request, pk, andon_resolve)


def _tablet_andon_context(workstation) -> dict:
    calls = AndonCall.objects.filter(workstation=workstation, status__in=OPEN_ANDON).order_by("raised_at")
    return {"andon_calls": calls, "andon_kinds": AndonKind.choices, "andon_workstation": workstation}


@never_cache
@require_POST
@permission_required("workorders.record_production")
@tablets.on_bound_tablet(as_json=True)
def andon_raise_view(request, workstation):
    """The tablet's "Call for help": one POST with the kind and the tablet's idempotency key.
    Answers the refreshed andon box (an htmx fragment)."""
    try:
        andon_raise(
            workstation=workstation,
            user=request.user,
            kind=request.POST.get("kind", ""),
            key=parse_key(request.POST.get("idempotency_key")),
            note=request.POST.get("note", "")[:500],
        )
    except MesError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status_code)
    return render(request, "workorders/tablet/andon.html", _tablet_andon_context(workstation))


@never_cache
@require_GET
@permission_required("workorders.record_production")
@tablets.on_bound_tablet(as_json=True)
def andon_box(request, workstation):
    """The tablet's andon box, refreshed by htmx."""
    return render(request, "workorders/tablet/andon.html", _tablet_andon_context(workstation))


urlpatterns = [
    path("live/", live_home, name="live_home"),
    path("live/sites/<int:pk>/", live_site, name="live_site"),
    path("live/lines/<int:pk>/", live_line, name="live_line"),
    path("live/lines/<int:pk>/chart.json", live_line_chart, name="live_line_chart"),
    path("live/andon/<int:pk>/acknowledge/", andon_acknowledge_view, name="andon_acknowledge"),
    path("live/andon/<int:pk>/resolve/", andon_resolve_view, name="andon_resolve"),
    path("workstation/andon/", andon_raise_view, name="andon_raise"),
    path("workstation/andon/box/", andon_box, name="andon_box"),
]
