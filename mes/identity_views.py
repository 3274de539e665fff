"""The two pages of a sign-in with the plant's identity provider: off to the provider, and back.

Without OIDC configuration both answer 404 and the sign-in page offers no such button. Every
attempt that comes back is logged with the other sign-in attempts (way in: identity provider);
a refused one shows the sign-in page with the reason, not an error page.
"""

from __future__ import annotations

import contextlib

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from mes import throttle
from mes.errors import Throttled
from mes.middleware import start_session_clock
from mes.throttle import Scope, SignInAttempt

NOT_CONFIRMED = _("The identity provider did not confirm who you are. Start the sign-in again.")
FOREIGN_ANSWER = _(
    "This sign-in answer does not belong to a sign-in started in this browser (its state is unknown). "
    "Start the sign-in again."
)


def provider_name() -> str:
    """The provider's name for the sign-in page's button; empty when none is configured."""
    return settings.OIDC_PROVIDER_NAME if settings.OIDC_ENABLED else ""


def _require_configured() -> None:
    if not settings.OIDC_ENABLED:
        raise Http404(gettext("Sign-in with an identity provider is not configured."))


class StartSignIn(OIDCAuthenticationRequestView):
    def get(self, request):
        _require_configured()
        return super().get(request)


class FinishSignIn(OIDCAuthenticationCallbackView):
    def get(self, request):
        _require_configured()
        try:
            return super().get(request)
        except SuspiciousOperation:
            return self._refused(FOREIGN_ANSWER)

    def login_success(self):
        try:
            reservation = self._attempt(self.user.username)
        except Throttled as exc:  # too many failures from this client: refused like any other way in
            return self._page(exc.message, status=exc.status_code)
        throttle.record_success(reservation, user=self.user)
        response = super().login_success()
        start_session_clock(self.request, on_tablet=False)
        return response

    def login_failure(self):
        return self._refused(getattr(self.request, "oidc_refusal", None) or NOT_CONFIRMED)

    def _attempt(self, identifier: str) -> throttle.Reservation:
        return throttle.reserve(
            kind=SignInAttempt.Kind.IDENTITY_PROVIDER,
            identifier=identifier,
            scope=Scope.USERNAME,
            request=self.request,
        )

    def _refused(self, reason: str):
        with contextlib.suppress(Throttled):  # a throttled attempt is logged by reserve() itself
            throttle.record_failure(
                self._attempt("(identity provider)"), outcome=SignInAttempt.Outcome.NOT_ALLOWED
            )
        return self._page(reason, status=403)

    def _page(self, reason: str, *, status: int):
        context = {
            "error": {"message": reason},
            "next": "",
            "expired": False,
            "identity_provider": provider_name(),
        }
        return render(self.request, "mes/sign_in.html", context, status=status)
