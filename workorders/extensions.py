"""What other apps add to production's screens, without production knowing them.

- **operation panels**: quality registers its "checklists and SOPs for this operation" panel
  from its `AppConfig.ready()`; the tablet's operation screen loads each panel with htmx from the
  URL named.
- **board panels**: quality adds its summary (open nonconformances, holds, forms due) to the
  supervisor's board, loaded the same way.
- **line figures**: quality adds its open nonconformances and holds to each line's live status.
- **workstation reminders**: quality adds the forms due at a workstation to the tablet's queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.urls import reverse

_operation_panels: list[str] = []


def register_operation_panel(url_name: str) -> None:
    """`url_name` takes the operation id as its one argument and answers an htmx fragment."""
    if url_name not in _operation_panels:
        _operation_panels.append(url_name)


def operation_panel_urls(operation_id: int, next_path: str) -> list[str]:
    return [f"{reverse(name, args=[operation_id])}?next={quote(next_path)}" for name in _operation_panels]


_board_panels: list[tuple[str, str]] = []


def register_board_panel(url_name: str, permission: str) -> None:
    """`url_name` takes no arguments and answers an htmx fragment; shown to holders of `permission`."""
    if (url_name, permission) not in _board_panels:
        _board_panels.append((url_name, permission))


def board_panel_urls(user) -> list[str]:
    return [reverse(name) for name, permission in _board_panels if user.has_perm(permission)]


# --- Figures other apps add to a line's live status ---------------------------------------------

LineFigures = Callable[[list[int]], dict[int, dict[str, Any]]]
_line_figure_providers: list[LineFigures] = []


def register_line_figures(provider: LineFigures) -> None:
    """`provider(line_ids)` answers `{line_id: {name: value}}` (quality: open nonconformances and
    holds). The dashboards' snapshots carry them; an app that changes them announces the line
    (`workorders.live.broadcast.announce_line`) so a delta carries the new values."""
    if provider not in _line_figure_providers:
        _line_figure_providers.append(provider)


def line_figures(line_ids: list[int]) -> dict[int, dict[str, Any]]:
    merged: dict[int, dict[str, Any]] = {pk: {} for pk in line_ids}
    for provider in _line_figure_providers:
        for line_id, figures in provider(line_ids).items():
            merged.setdefault(line_id, {}).update(figures)
    return merged


# --- What waits for the operator at a workstation -----------------------------------------------


@dataclass(frozen=True)
class Reminder:
    """Something due at a workstation that another app knows of (quality: forms due), shown on the
    tablet's queue as a count that links to where it is done."""

    key: str
    label: str
    url: str
    # What is due, by name, each with whether it is late (shown in red, as on the board).
    items: tuple[tuple[str, bool], ...]

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def late(self) -> int:
        return sum(1 for _, late in self.items if late)


WorkstationReminder = Callable[[Any, Any], "Reminder | None"]
_workstation_reminders: list[WorkstationReminder] = []


def register_workstation_reminder(provider: WorkstationReminder) -> None:
    """`provider(workstation, user)` answers a `Reminder` of what is due there, or None when
    nothing is (or the person may not do it)."""
    if provider not in _workstation_reminders:
        _workstation_reminders.append(provider)


def workstation_reminders(workstation, user) -> list[Reminder]:
    found = (provider(workstation, user) for provider in _workstation_reminders)
    return [r for r in found if r is not None and r.count]
