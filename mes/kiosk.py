"""The tablet's binding to a workstation, carried in a signed cookie holding the kiosk token, and
the one check every tablet page and action makes before it acts at that workstation."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from mes import log_context
from mes.errors import Forbidden, MesError
from mes.models import Kiosk, Workstation
from mes.selectors import site_is_visible_to

_SALT = "mes.kiosk"


def bound_kiosk(request) -> Kiosk | None:
    if hasattr(request, "_mes_kiosk"):
        return request._mes_kiosk
    kiosk = None
    token = request.get_signed_cookie(settings.KIOSK_COOKIE_NAME, default=None, salt=_SALT)
    if token:
        kiosk = (
            Kiosk.objects.select_related("workstation__line__site")
            .filter(token=token, revoked_at__isnull=True)
            .first()
        )
    request._mes_kiosk = kiosk
    return kiosk


def bound_workstation(request) -> Workstation | None:
    kiosk = bound_kiosk(request)
    return kiosk.workstation if kiosk else None


def workstation_for(request) -> Workstation:
    """The workstation this tablet is bound to, for the person signed in at it.

    Refuses (Forbidden) an unbound tablet, and a person who may not reach the workstation's site:
    sign-in already refuses them, but a session outlives a change of the person's sites, and a
    desk session can reach tablet URLs on a bound browser. The API refuses the same.
    """
    workstation = bound_workstation(request)
    if workstation is None:
        raise Forbidden("This tablet is not bound to a workstation.", code="tablet_not_bound")
    site = workstation.line.site
    if not site_is_visible_to(request.user, site):
        raise Forbidden(
            f"You are not assigned to {site.name}, where this tablet's workstation is. Sign out and "
            f"work at a tablet of your own site, or ask a supervisor to give you access to {site.name}.",
            code="other_site",
        )
    log_context.bind(site=site.code, workstation=workstation.code)  # this request's log lines
    return workstation


def refusal(request, exc: MesError) -> HttpResponse:
    """A refused tablet request: JSON (`detail`, `code`) for the tablet's scripts and htmx, which
    show `detail`; otherwise a page saying why and what to do."""
    if getattr(request, "htmx", False) or request.get_preferred_type(["text/html", "application/json"]) == (
        "application/json"
    ):
        return JsonResponse(exc.as_dict(), status=exc.status_code)
    return render(request, "mes/tablet_refused.html", {"error": exc}, status=exc.status_code)


def on_bound_tablet(view=None, *, as_json: bool = False):
    """For tablet pages and actions: call `view(request, workstation, ...)` with the workstation of
    `workstation_for`; the view does not run when it refuses.

    A page (the default) shows an unbound tablet the binding page and a refused person `refusal`.
    An endpoint the tablet's scripts or htmx call (`as_json=True`: taps, the override, the andon box)
    answers every refusal, an unbound tablet included, as JSON (`detail`, `code`) with its status:
    the tablet's outbox reads a 403 `tablet_not_bound` as "keep the tap and try again later".
    """

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            try:
                workstation = workstation_for(request)
            except Forbidden as exc:
                if as_json:
                    return JsonResponse(exc.as_dict(), status=exc.status_code)
                if exc.code == "tablet_not_bound":
                    return render(request, "mes/tablet_unbound.html")
                return refusal(request, exc)
            return view(request, workstation, *args, **kwargs)

        return wrapped

    return decorate(view) if view is not None else decorate


def set_cookie(response, kiosk: Kiosk) -> None:
    response.set_signed_cookie(
        settings.KIOSK_COOKIE_NAME,
        str(kiosk.token),
        salt=_SALT,
        max_age=settings.KIOSK_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.HTTPS,
    )


def clear_cookie(response) -> None:
    response.delete_cookie(settings.KIOSK_COOKIE_NAME, samesite="Lax")
