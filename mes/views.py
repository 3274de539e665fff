"""Pages of the plant kernel: sign-in (password and badge), landing, plant overview, tablets."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from mes import health, identity_views, navigation, roles, selectors, services, tablets, workload
from mes.errors import MesError
from mes.forms import TabletBindForm, TabletRevokeForm, local_url, refusal, refuse
from mes.middleware import start_session_clock
from mes.models import Tablet, Workstation
from mes.permissions import permission_required


def _safe_next(request, fallback: str) -> str:
    return local_url(request, request.POST.get("next") or request.GET.get("next"), fallback)


@never_cache
def sign_in(request):
    error = None
    status = 200
    if request.method == "POST":
        try:
            user = services.user_sign_in_with_password(
                request=request,
                username=request.POST.get("username", ""),
                password=request.POST.get("password", ""),
            )
        except MesError as exc:
            error, status = exc, exc.status_code
        else:
            login(request, user, backend="mes.auth.PermissionBackend")
            start_session_clock(request, on_tablet=False)
            return redirect(_safe_next(request, "home"))
    context = {
        "error": error,
        "next": request.GET.get("next", ""),
        "expired": "expired" in request.GET,
        "identity_provider": identity_views.provider_name(),
    }
    return render(request, "mes/sign_in.html", context, status=status)


@require_POST
def sign_out(request):
    # A bound tablet opens on the badge sign-in, also after a supervisor's desk session on it.
    on_tablet = bool(request.session.get("mes_on_tablet")) or tablets.bound_workstation(request) is not None
    logout(request)
    return redirect("tablet_sign_in" if on_tablet else "login")


def home(request):
    if not request.user.is_authenticated:
        if tablets.bound_workstation(request):
            return redirect("tablet_sign_in")
        return redirect("login")
    return redirect(navigation.landing_for(roles.role_of(request.user)))


@never_cache
def tablet_sign_in(request):
    this = tablets.bound_tablet(request)
    if this is None:
        return render(request, "mes/tablet_unbound.html", status=200)
    workstation = this.workstation
    error = None
    status = 200
    if request.method == "POST":
        try:
            user = services.user_sign_in_with_badge(
                request=request,
                badge_number=request.POST.get("badge_number", ""),
                pin=request.POST.get("pin", ""),
                tablet=this,
            )
        except MesError as exc:
            error, status = exc, exc.status_code
        else:
            login(request, user, backend="mes.auth.BadgePinBackend")
            start_session_clock(request, on_tablet=True)
            return redirect(navigation.tablet_home())
    context = {"workstation": workstation, "error": error, "expired": "expired" in request.GET}
    return render(request, "mes/tablet_sign_in.html", context, status=status)


@permission_required("mes.use_tablet")
@tablets.on_bound_tablet
def tablet_home(request, workstation):
    return render(request, "mes/tablet_home.html", {"workstation": workstation})


@permission_required("mes.view_site")
def plant_overview(request):
    return render(request, "mes/plant_overview.html", {"sites": selectors.plant_tree(request.user)})


def _bindable(request):
    visible = selectors.sites_visible_to(request.user)
    return Workstation.objects.filter(line__site__in=visible, active=True).select_related("line__site")


def _tablet_page(request, *, bind_form, revoke=None, error=None):
    """The tablets page; a refused form is shown again with what was typed and the error at its
    field (`revoke` is the refused unbind: the tablet and its form)."""
    visible = selectors.sites_visible_to(request.user)
    in_use = Tablet.objects.filter(
        workstation__line__site__in=visible, revoked_at__isnull=True
    ).select_related("workstation__line__site", "bound_by")
    workstations = list(bind_form.workstations.order_by("line__site__code", "line__code", "code"))
    queued = workload.queued_by_workstation(w.pk for w in workstations)
    bound = {k.workstation_id: k.name for k in in_use}
    for ws in workstations:
        ws.queued = queued.get(ws.pk, 0)
        ws.bound_tablet = bound.get(ws.pk)
    context = {
        "workstations": workstations,
        "form": bind_form,
        "tablets": in_use,
        "revoke_tablet": revoke[0].pk if revoke else None,
        "revoke_form": revoke[1] if revoke else None,
        "error": error,
        "this_tablet": tablets.bound_tablet(request),
    }
    return render(request, "mes/tablet_list.html", context, status=error.status_code if error else 200)


@permission_required("mes.bind_tablet")
def tablet_list(request):
    if request.method != "POST":
        return _tablet_page(request, bind_form=TabletBindForm(workstations=_bindable(request)))
    form = TabletBindForm(request.POST, workstations=_bindable(request))
    if not form.is_valid():
        return _tablet_page(request, bind_form=form, error=refusal(form))
    workstation = form.cleaned_data["workstation"]
    # Nothing to type: a tablet left unnamed is named after its workstation.
    name = (form.cleaned_data["name"] or "").strip() or gettext("Tablet at %(line)s/%(code)s") % {
        "line": workstation.line.code,
        "code": workstation.code,
    }
    try:
        bound = services.tablet_bind(workstation=workstation, name=name, by=request.user)
    except MesError as exc:
        refuse(form, exc)
        return _tablet_page(request, bind_form=form, error=exc)
    messages.success(
        request, gettext("This tablet is now bound to %(workstation)s.") % {"workstation": workstation}
    )
    response = redirect("tablet_list")
    tablets.set_cookie(response, bound)
    return response


@require_POST
@permission_required("mes.bind_tablet")
def tablet_revoke(request, pk: int):
    visible = selectors.sites_visible_to(request.user)
    target = get_object_or_404(Tablet, pk=pk, workstation__line__site__in=visible)
    form = TabletRevokeForm(request.POST)
    error = None if form.is_valid() else refusal(form)
    if error is None:
        try:
            services.tablet_revoke(tablet=target, by=request.user, reason=form.cleaned_data["reason"])
        except MesError as exc:
            refuse(form, exc)
            error = exc
    if error is not None:
        bind_form = TabletBindForm(workstations=_bindable(request))
        return _tablet_page(request, bind_form=bind_form, revoke=(target, form), error=error)
    messages.success(request, gettext("%(name)s is no longer bound.") % {"name": target.name})
    response = redirect("tablet_list")
    this = tablets.bound_tablet(request)
    if this and this.pk == target.pk:
        tablets.clear_cookie(response)
    return response


@never_cache
def healthz(request):
    healthy, body = health.report()
    return JsonResponse(body, status=200 if healthy else 503)


def forbidden(request, exception=None):
    return render(request, "403.html", status=403)


def ping(request):
    """A cheap authenticated endpoint: the baseline that benches compare real work against."""
    if not request.user.is_authenticated:
        return HttpResponse(status=401)
    return HttpResponse("pong", content_type="text/plain")
