"""Which language a request is answered in.

Django's LocaleMiddleware (before this one) has chosen from the language cookie (set by the
tablet sign-in screen's switch, `mes_language`), else the browser's Accept-Language, else the
site default (settings.LANGUAGE_CODE). This one, after authentication, puts the signed-in
person's own language (`User.language`) first when they have one: an operator who badges in at a
tablet left in German by the previous shift reads their own language at once, and reads the
screen's language again once signed out.

API clients signing in with a token are authenticated by the API view, after every middleware:
they are machines and get their human messages in the language their Accept-Language asks for.
A browser calling the API with its session (the tablet's scripts) is the person, in their language.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation

SUPPORTED = {code for code, _name in settings.LANGUAGES}


def person_language(user) -> str:
    """The person's own language when they have set one that is still offered, else ''."""
    if not getattr(user, "is_authenticated", False):
        return ""
    language = getattr(user, "language", "") or ""
    return language if language in SUPPORTED else ""


class PersonLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = person_language(request.user)
        if language and language != getattr(request, "LANGUAGE_CODE", None):
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
