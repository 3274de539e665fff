"""Records sealed by their own signature, checked by the verify beside the hash chain.

The chain proves the history rows were not changed unseen. Some records carry a seal of their own
as well: a decision signed over the hash of what it decided on (a released production record).
A later change to what such a seal covers is recorded honestly in the history, so the chain stays
intact, yet the decision no longer covers what is stored: the verify reports it as a broken seal.

The kernel knows none of those records; the app that seals them registers a check here from its
`AppConfig.ready()` (`register_seal_check`), and `seal_verify` runs every check after the chain.
A check yields a `BrokenSeal` for each sealed record that no longer matches its seal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class BrokenSeal:
    """A sealed record that no longer matches what was signed."""

    record: str  # what it is, as a person names it: "production record of order WO-1"
    detail: str  # what no longer matches: "its content hash is ... , the release signed ..."

    def __str__(self) -> str:
        return f"{self.record}: {self.detail}"


SealCheck = Callable[[], Iterable[BrokenSeal]]

_checks: dict[str, SealCheck] = {}


def register_seal_check(name: str, check: SealCheck) -> None:
    """Run `check()` in every verify; `name` says what it checks ("production records")."""
    _checks[name] = check


def broken_seals() -> list[BrokenSeal]:
    """What every registered check finds, in the order they were registered."""
    return [found for check in _checks.values() for found in check()]
