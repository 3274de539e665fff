"""Session idle time-out: a shared tablet signs its operator out after a few idle minutes; and the
refusal of NUL characters in a request's path, query string and form fields."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from mes import tablets
from mes.parsers import NUL, nul_refusal

SESSION_LAST_SEEN = "mes_last_seen"
SESSION_ON_TABLET = "mes_on_tablet"
# Refreshing the clock writes the session; once every few seconds is precise enough and keeps
# a write off every tap.
TOUCH_EVERY_SECONDS = 15
POLL_HEADER = "X-MES-Poll"


def start_session_clock(request, *, on_tablet: bool) -> None:
    request.session[SESSION_LAST_SEEN] = time.time()
    request.session[SESSION_ON_TABLET] = on_tablet


class IdleSessionTimeoutMiddleware:
    """Ends a signed-in session that has been idle longer than its limit.

    Badge sessions on tablets use TABLET_IDLE_TIMEOUT_SECONDS, desk sessions
    DESK_IDLE_TIMEOUT_SECONDS. API calls with a token carry no session and pass untouched.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        if request.user.is_authenticated and SESSION_LAST_SEEN in session:
            on_tablet = bool(session.get(SESSION_ON_TABLET))
            limit = settings.TABLET_IDLE_TIMEOUT_SECONDS if on_tablet else settings.DESK_IDLE_TIMEOUT_SECONDS
            now = time.time()
            if now - session[SESSION_LAST_SEEN] > limit:
                logout(request)
                # A bound tablet opens on the badge sign-in, also after a desk session on it.
                bound = on_tablet or tablets.bound_tablet(request) is not None
                target = reverse("tablet_sign_in" if bound else "login")
                if request.headers.get("HX-Request"):
                    response = HttpResponse("Signed out after idle time.", status=401)
                    response["HX-Redirect"] = target
                    return response
                return redirect(f"{target}?expired=1")
            # A page's own polling is not a person at work: it must not keep the session alive.
            if (
                not request.headers.get(POLL_HEADER)
                and now - session[SESSION_LAST_SEEN] > TOUCH_EVERY_SECONDS
            ):
                session[SESSION_LAST_SEEN] = now
        return self.get_response(request)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _nul_field(request) -> str | None:
    """Where the request carries a NUL character: "path", a query parameter's or a form field's
    name, or None when it carries none."""
    if NUL in request.path:
        return "path"
    for name, values in request.GET.lists():
        if NUL in name or any(NUL in v for v in values):
            return name.replace(NUL, "") or "query"
    # Read as Django reads it for the CSRF check anyway; DRF then parses the same form again.
    if request.method == "POST" and request.content_type in FORM_TYPES:
        for name, values in request.POST.lists():
            if NUL in name or any(NUL in v for v in values):
                return name.replace(NUL, "") or "body"
    return None


class RefuseNulMiddleware:
    """Answers 400 to a request whose path, query string or form fields hold a NUL character.

    PostgreSQL refuses NUL in every text column and in every text compared with one, so such a
    value reached the database as a 500 wherever a view used it (`?part_number=%00`,
    `/trace/%00/`). No field of the plant can hold one; refusing it at the door names the field
    for every page and endpoint at once. JSON bodies, and forms sent with PUT or PATCH, are
    checked by the API's parsers (`mes.parsers`), which know where in the body the NUL sits.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = _nul_field(request)
        if field is None:
            return self.get_response(request)
        reason = nul_refusal(field)
        if request.path.startswith("/api/"):
            body = {"detail": f"{field}: {reason}", "code": "nul_character", "errors": {field: [reason]}}
            return JsonResponse(body, status=400)
        return HttpResponse(reason, status=400, content_type="text/plain; charset=utf-8")
