"""Session idle time-out: a shared tablet signs its operator out after a few idle minutes."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

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
                target = reverse("tablet_sign_in" if on_tablet else "login")
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
