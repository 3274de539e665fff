"""Navigation per role: each app registers its entries with the permission that shows them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str
    order: int = 50
    # A count shown beside the label when it is not zero: something waits for a person there.
    badge: Callable[[], int] | None = None


_items: list[NavItem] = []


def register(*items: NavItem) -> None:
    for item in items:
        if item not in _items:
            _items.append(item)


def items_for(user) -> list[NavItem]:
    if not user.is_authenticated:
        return []
    return sorted((i for i in _items if user.has_perm(i.permission)), key=lambda i: i.order)


def badges_for(items: list[NavItem]) -> dict[str, int]:
    """The non-zero counts of the items given, by URL name (one small query per counted item)."""
    counts = {i.url_name: i.badge() for i in items if i.badge is not None}
    return {name: n for name, n in counts.items() if n}


# The page each role lands on after sign-in; apps replace entries as they add their pages.
_landing: dict[str, str] = {}


def set_landing(role: str, url_name: str) -> None:
    _landing[role] = url_name


def landing_for(role: str | None) -> str:
    return _landing.get(role or "", "plant_overview")


# The page a tablet opens on after a badge sign-in; production replaces it with the queue.
_tablet_home = "tablet_home"


def set_tablet_home(url_name: str) -> None:
    global _tablet_home
    _tablet_home = url_name


def tablet_home() -> str:
    return _tablet_home
