"""A lifecycle's allowed moves as data, and the one refusal of a move it doesn't allow.

Each app's `states.py` writes its table once as a `Transitions`; services ask `allowed()` or call
`require()`, which refuses with `IllegalTransition` (409) naming the record, its state, the state
asked for and the states it can move to. The table is a read-only mapping from a state to the
states it may become, so templates and selectors can read it as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from django.db import models
from django.utils.translation import gettext

from mes.errors import IllegalTransition


class Transitions(Mapping[str, frozenset[str]]):
    """The allowed moves of one lifecycle: `{from: {to, ...}}` over the states of `states`."""

    def __init__(self, states: type[models.TextChoices], moves: Mapping[str, set[str]]):
        unknown = {str(s) for s in moves} - set(states.values)
        unknown |= {str(t) for targets in moves.values() for t in targets} - set(states.values)
        if unknown:
            raise ValueError(f"not states of {states.__name__}: {sorted(unknown)}")
        self.states = states
        self._moves = {str(s): frozenset(str(t) for t in targets) for s, targets in moves.items()}

    def __getitem__(self, current: str) -> frozenset[str]:
        return self._moves[current]

    def __iter__(self) -> Iterator[str]:
        return iter(self._moves)

    def __len__(self) -> int:
        return len(self._moves)

    def allowed(self, current: str, target: str) -> bool:
        """Whether a record in `current` may become `target`."""
        return target in self._moves.get(current, frozenset())

    def require(self, current: str, target: str, *, record: str) -> None:
        """Refuse (IllegalTransition, field "status") the move from `current` to `target` unless the
        table allows it; `record` names the record in the message ("Order WO-1")."""
        if self.allowed(current, target):
            return
        # States by their labels, in the reader's language and as written there (German nouns keep
        # their capital), in the lifecycle's own order.
        moves = self._moves.get(current, frozenset())
        can = ", ".join(str(label) for value, label in self.states.choices if value in moves)
        raise IllegalTransition(
            gettext("%(record)s is %(current)s: it can't become %(target)s (it can become: %(can)s).")
            % {
                "record": record,
                "current": self.states(current).label,
                "target": self.states(target).label,
                "can": can or gettext("nothing"),
            },
            field="status",
        )
