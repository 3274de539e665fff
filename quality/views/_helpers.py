from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect

from mes.errors import MesError
from mes.idempotency import parse_key


def credentials(post) -> dict:
    """The signing credentials of a form: password, or badge and PIN."""
    return {
        "password": post.get("password") or None,
        "badge_number": post.get("badge_number") or None,
        "pin": post.get("pin") or None,
    }


def key_of(post):
    return parse_key(post.get("idempotency_key"))


def refused(request, exc: MesError, to: str) -> HttpResponse:
    messages.error(request, f"{exc.field + ': ' if exc.field else ''}{exc.message}")
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = to
        return response
    return redirect(to)


def done(request, message: str, to: str) -> HttpResponse:
    messages.success(request, message)
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = to
        return response
    return redirect(to)
