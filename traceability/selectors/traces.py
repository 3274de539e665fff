"""A trace as callers ask for it: the walk over the genealogy (`graph`) and, on request, the
production context of every node (`context`), which is read for the walk's nodes afterwards."""

from __future__ import annotations

from traceability.selectors.context import trace_context
from traceability.selectors.graph import BACKWARD, FORWARD, Trace, walk
from workorders.models import Lot


def trace(lot: Lot, direction: str, *, user=None, context: bool = False) -> Trace:
    """The trace of `lot` in `direction`; with `context`, its production context too."""
    found = walk(lot, direction, user=user)
    if context:
        found.context = trace_context(found)
    return found


def trace_backward(lot: Lot, *, user=None, context: bool = False) -> Trace:
    """Everything that went into `lot`: all its ancestors and the links between them, in one
    query. With `user`, nodes on sites they may not see are marked not visible. With `context`,
    the production context of every node too (a fixed number of further queries)."""
    return trace(lot, BACKWARD, user=user, context=context)


def trace_forward(lot: Lot, *, user=None, context: bool = False) -> Trace:
    """Everything `lot` went into: all its descendants and the links between them, in one
    query; `Trace.affected` is the recall list (the lots and serials at the end)."""
    return trace(lot, FORWARD, user=user, context=context)
