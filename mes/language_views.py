"""Choosing the language the screens speak: the tablet sign-in screen's switch (a cookie, for that
screen and whoever has no language of their own) and the person's own "My language" (their
profile, which wins once they are signed in; `mes.locale_middleware`).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from mes import people_services
from mes.errors import MesError
from mes.forms import local_url, refusal, refuse
from mes.people_forms import OwnLanguageForm


def _next(request) -> str:
    return local_url(request, request.POST.get("next") or request.GET.get("next"), reverse("home"))


@require_POST
def screen_language(request):
    """The switch of the tablet sign-in screen: keep the chosen language in the language cookie
    and show the page again. A value that is no offered language is refused (400)."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        message = gettext("Choose a language from the list.")
        return HttpResponse(f"language: {message}", status=400, content_type="text/plain; charset=utf-8")
    response = redirect(_next(request))
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


@never_cache
@login_required
def my_language(request):
    """The signed-in person's own language (desk and tablet), kept in their history."""
    form = OwnLanguageForm(
        request.POST if request.method == "POST" else None, initial={"language": request.user.language}
    )
    error = None
    if request.method == "POST":
        error = None if form.is_valid() else refusal(form)
        if error is None:
            try:
                people_services.person_set_own_language(
                    user=request.user, language=form.cleaned_data["language"]
                )
            except MesError as exc:
                refuse(form, exc)
                error = exc
        if error is None:
            # The notice is read in the language just chosen.
            translation.activate(request.user.language or translation.get_language_from_request(request))
            messages.success(request, gettext("The screens now speak your language."))
            return redirect(_next(request))
    context = {
        "form": form,
        "error": error,
        "next": _next(request),
        "languages": settings.LANGUAGES,
        "chosen": request.user.language,
    }
    return render(request, "mes/my_language.html", context, status=error.status_code if error else 200)


urlpatterns = [
    path("language/", screen_language, name="screen_language"),
    path("my-language/", my_language, name="my_language"),
]
