"""The two hooks through which quality, traceability and integration plug into production.

`workorders` knows nothing of the apps that depend on it. They register here, from their
`AppConfig.ready()`, so every consequence of a production event can be found in one place per app:

- **guards** are consulted inside a production service before it acts; a guard refuses by
  raising a `MesError`.
- **event handlers** are called with each ledger event inside the same transaction, so what
  they write (an outbox row, say) commits or rolls back with the event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Guard = Callable[..., None]
EventHandler = Callable[[Any], None]

_guards: dict[str, list[Guard]] = {}
_event_handlers: list[EventHandler] = []


def register_guard(action: str, guard: Guard) -> None:
    """Consult `guard(**context)` before every `action` (e.g. "operation_start")."""
    if guard not in _guards.setdefault(action, []):
        _guards[action].append(guard)


def run_guards(action: str, **context: Any) -> None:
    for guard in _guards.get(action, []):
        guard(**context)


def register_event_handler(handler: EventHandler) -> None:
    """Call `handler(event)` with each ledger event, inside the event's transaction."""
    if handler not in _event_handlers:
        _event_handlers.append(handler)


def dispatch_event(event: Any) -> None:
    for handler in _event_handlers:
        handler(event)
