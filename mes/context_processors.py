from django.conf import settings

from mes import kiosk, navigation


def mes_context(request) -> dict:
    """Navigation for the signed-in role and the workstation this tablet is bound to."""
    return {
        "nav_items": navigation.items_for(request.user),
        "kiosk_workstation": kiosk.bound_workstation(request),
        "embedded_mode": settings.EMBEDDED,
    }
