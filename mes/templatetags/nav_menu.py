"""The top bar's navigation in a few menus, so it stays one row on a 1024 px screen.

The apps register their entries with an `order` (mes.navigation); the ranges below are the areas
of the plant those orders already keep apart. A person with few entries (an operator) sees them
as plain links; a menu with one entry is a plain link too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

# (label, first order of the area); an entry belongs to the last area whose start it reaches.
AREAS = [(_("Production"), 0), (_("Quality"), 40), (_("Records & ERP"), 60), (_("Setup"), 80)]
# Up to this many entries fit one row at 1024 px as plain links.
FLAT_UP_TO = 6


@dataclass
class NavGroup:
    label: str
    items: list = field(default_factory=list)
    badge: int = 0
    active: bool = False


@register.simple_tag(takes_context=True)
def nav_groups(context) -> list[NavGroup]:
    items = context.get("nav_items") or []
    badges = context.get("nav_badges") or {}
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    current = match.url_name if match else None
    if len(items) <= FLAT_UP_TO:
        return [
            NavGroup("", [item], badges.get(item.url_name, 0), item.url_name == current) for item in items
        ]
    groups: dict[str, NavGroup] = {}
    for item in items:
        label = [name for name, start in AREAS if item.order >= start][-1]
        group = groups.setdefault(label, NavGroup(label))
        group.items.append(item)
        group.badge += badges.get(item.url_name, 0)
        group.active = group.active or item.url_name == current
    return list(groups.values())
