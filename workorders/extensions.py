"""Panels other apps add to the tablet's operation screen, without production knowing them.

Quality registers its "checklists and SOPs for this operation" panel here from its
`AppConfig.ready()`; the screen loads each panel with htmx from the URL named.
"""

from __future__ import annotations

from urllib.parse import quote

from django.urls import reverse

_operation_panels: list[str] = []


def register_operation_panel(url_name: str) -> None:
    """`url_name` takes the operation id as its one argument and answers an htmx fragment."""
    if url_name not in _operation_panels:
        _operation_panels.append(url_name)


def operation_panel_urls(operation_id: int, next_path: str) -> list[str]:
    return [f"{reverse(name, args=[operation_id])}?next={quote(next_path)}" for name in _operation_panels]
