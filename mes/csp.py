"""The Content-Security-Policy of every page (django-csp, configured in settings), with two
adjustments made per response:

- CSP3 lets `'self'` match the page's own host over ws: and wss:, and current Chromium and Firefox
  do; Safari before 15.4 and older embedded browsers on plant tablets do not. So `connect-src`
  also names the websocket origin of the host the request came to: a live dashboard connects on
  any browser, and still only to the server that served it.
- DRF's browsable API (a developer's page of the JSON API) is built from DRF's own templates, full
  of style attributes. Its pages may apply inline styles; they still run only the app's scripts.
"""

from __future__ import annotations

from csp.constants import SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.core.exceptions import DisallowedHost
from rest_framework.renderers import BrowsableAPIRenderer


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only:
            return parts
        if isinstance(getattr(response, "accepted_renderer", None), BrowsableAPIRenderer):
            parts.replace = {**(parts.replace or {}), "style-src": [SELF, UNSAFE_INLINE]}
        try:
            # Checked against ALLOWED_HOSTS: only a host the app answers to is named.
            host = request.get_host()
        except DisallowedHost:
            return parts
        websocket = f"{'wss' if request.is_secure() else 'ws'}://{host}"
        update = dict(parts.update or {})
        update["connect-src"] = [*update.get("connect-src", []), websocket]
        parts.update = update
        return parts
