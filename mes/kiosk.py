"""The tablet's binding to a workstation, carried in a signed cookie holding the kiosk token."""

from __future__ import annotations

from django.conf import settings

from mes.models import Kiosk, Workstation

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
