from django.conf import settings

from mes import navigation, tablets


def mes_context(request) -> dict:
    """Navigation for the signed-in role (with its counts of things waiting for a person) and the
    workstation this tablet is bound to. An htmx request renders a fragment, not the navigation."""
    items = navigation.items_for(request.user)
    return {
        "nav_items": items,
        "nav_badges": {} if getattr(request, "htmx", False) else navigation.badges_for(items),
        "tablet_workstation": tablets.bound_workstation(request),
        "embedded_mode": settings.EMBEDDED,
    }
