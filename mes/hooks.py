"""The two hooks through which quality, traceability and integration plug into production.

`workorders` knows nothing of the apps that depend on it. They register here, from their
`AppConfig.ready()`, so every consequence of a production event can be found in one place per app:

- **guards** are consulted inside a production service before it acts; a guard refuses by
  raising a `MesError`. A guard registered as `overridable` refuses what a supervisor may still
  do with an explicit, signed override (the production service decides where it accepts one,
  and records each refusal it overrode); any other refusal stands whatever the override.
- **event handlers** are called with each ledger event inside the same transaction, so what
  they write (an outbox row, say) commits or rolls back with the event.
- **refusal handlers** are called with the domain error when an action was refused, after its
  transaction has rolled back, so what they write (the record of a refused Start) stays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mes.errors import MesError

Guard = Callable[..., None]
EventHandler = Callable[[Any], None]
RefusalHandler = Callable[..., None]

_guards: dict[str, list[Guard]] = {}
_overridable: set[tuple[str, Guard]] = set()
_event_handlers: list[EventHandler] = []
_refusal_handlers: dict[str, list[RefusalHandler]] = {}


@dataclass(frozen=True)
class Refusal:
    """One guard's refusal of an action, and whether a signed override may go past it."""

    error: MesError
    overridable: bool


def register_guard(action: str, guard: Guard, *, overridable: bool = False) -> None:
    """Consult `guard(**context)` before every `action` (e.g. "operation_start")."""
    if guard not in _guards.setdefault(action, []):
        _guards[action].append(guard)
    if overridable:
        _overridable.add((action, guard))


def run_guards(action: str, **context: Any) -> None:
    for guard in _guards.get(action, []):
        guard(**context)


def guard_refusals(action: str, **context: Any) -> list[Refusal]:
    """Every refusal of `action`'s guards, not only the first: an override has to name all it
    goes past, and a refusal no override may pass has to be found even behind one that may."""
    found = []
    for guard in _guards.get(action, []):
        try:
            guard(**context)
        except MesError as exc:
            found.append(Refusal(exc, (action, guard) in _overridable))
    return found


def register_event_handler(handler: EventHandler) -> None:
    """Call `handler(event)` with each ledger event, inside the event's transaction."""
    if handler not in _event_handlers:
        _event_handlers.append(handler)


def dispatch_event(event: Any) -> None:
    for handler in _event_handlers:
        handler(event)


def register_refusal_handler(action: str, handler: RefusalHandler) -> None:
    """Call `handler(error, **context)` when `action` is refused, once its transaction rolled back."""
    if handler not in _refusal_handlers.setdefault(action, []):
        _refusal_handlers[action].append(handler)


def dispatch_refusal(action: str, error: Exception, **context: Any) -> None:
    for handler in _refusal_handlers.get(action, []):
        handler(error, **context)
