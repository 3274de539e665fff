"""The tablet's binding to a workstation, carried in a signed cookie holding the tablet token, and
the one check every tablet page and action makes before it acts at that workstation."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext

from mes import log_context
from mes.errors import Forbidden, MesError
from mes.models import Tablet, Workstation
from mes.selectors import site_is_visible_to

_SALT = "mes.tablet"
# Tablets bound before the tablet had its one name carry the cookie under its earlier name and
# salt; it is still honoured, and the next tablet page the tablet opens moves it to the new one,
# so no plant has to bind its tablets again after the upgrade.
_EARLIER_COOKIE = ("mes_kiosk", "mes.kiosk")


def bound_tablet(request) -> Tablet | None:
    if hasattr(request, "_mes_tablet"):
        return request._mes_tablet
    tablet = None
    token = request.get_signed_cookie(settings.TABLET_COOKIE_NAME, default=None, salt=_SALT)
    if not token:
        name, salt = _EARLIER_COOKIE
        token = request.get_signed_cookie(name, default=None, salt=salt)
        request._mes_tablet_cookie_to_move = bool(token)
    if token:
        tablet = (
            Tablet.objects.select_related("workstation__line__site")
            .filter(token=token, revoked_at__isnull=True)
            .first()
        )
    request._mes_tablet = tablet
    return tablet


def bound_workstation(request) -> Workstation | None:
    tablet = bound_tablet(request)
    return tablet.workstation if tablet else None


def workstation_for(request) -> Workstation:
    """The workstation this tablet is bound to, for the person signed in at it.

    Refuses (Forbidden) an unbound tablet, and a person who may not reach the workstation's site:
    sign-in already refuses them, but a session outlives a change of the person's sites, and a
    desk session can reach tablet URLs on a bound browser. The API refuses the same.
    """
    workstation = bound_workstation(request)
    if workstation is None:
        raise Forbidden(gettext("This tablet is not bound to a workstation."), code="tablet_not_bound")
    site = workstation.line.site
    if not site_is_visible_to(request.user, site):
        raise Forbidden(
            gettext(
                "You are not assigned to %(name)s, where this tablet's workstation is. Sign out and work at a tablet of your own site, or ask a supervisor to give you access to %(name)s."
            )
            % {"name": site.name},
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
    the tablet's waiting list reads a 403 `tablet_not_bound` as "keep the tap and try again later".
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
            response = view(request, workstation, *args, **kwargs)
            if getattr(request, "_mes_tablet_cookie_to_move", False):
                set_cookie(response, bound_tablet(request))
            return response

        return wrapped

    return decorate(view) if view is not None else decorate


def set_cookie(response, tablet: Tablet) -> None:
    response.set_signed_cookie(
        settings.TABLET_COOKIE_NAME,
        str(tablet.token),
        salt=_SALT,
        max_age=settings.TABLET_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.HTTPS,
    )
    response.delete_cookie(_EARLIER_COOKIE[0], samesite="Lax")


def clear_cookie(response) -> None:
    response.delete_cookie(settings.TABLET_COOKIE_NAME, samesite="Lax")
    response.delete_cookie(_EARLIER_COOKIE[0], samesite="Lax")
