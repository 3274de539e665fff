"""Access checks for pages and API endpoints, by role permission."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext
from rest_framework import permissions

from mes import tablets


class ModelPermissions(permissions.DjangoModelPermissions):
    """Django model permissions, with reading guarded too: GET needs the `view_` permission."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


class HasPermission(permissions.BasePermission):
    """For API views without a model queryset: `permission_classes = [HasPermission.of("x.y")]`."""

    required: tuple[str, ...] = ()

    @classmethod
    def of(cls, *perms: str):
        return type("HasPermission", (cls,), {"required": perms})

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.has_perms(self.required))


def tablet_signed_out(request) -> HttpResponse:
    """Back to the badge sign-in of a bound tablet whose session ended: htmx (a poll) is told to
    go there with a 401, so no fragment of a sign-in page is swapped into the screen."""
    target = reverse("tablet_sign_in")
    if request.headers.get("HX-Request"):
        response = HttpResponse(gettext("Signed out."), status=401)
        response["HX-Redirect"] = target
        return response
    return redirect(f"{target}?expired=1")


def permission_required(*perms: str):
    """For HTML views: anonymous users go to the login page (on a bound tablet, its badge
    sign-in: a session that ended there never shows the desk's); signed-in users without the
    permission get 403 (never a redirect loop, never the data)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                if tablets.bound_tablet(request) is not None:
                    return tablet_signed_out(request)
                return redirect_to_login(request.get_full_path())
            if not request.user.has_perms(perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
