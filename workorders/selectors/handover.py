"""Which handovers wait for someone: at a workstation's tablet, and on the supervisor's board.

A handover waits until someone other than its author acknowledges it. The tablet shows a person
the ones meant for its workstation (left for the workstation, or for its whole line) that they
did not write; the board shows every waiting one of the sites the supervisor sees.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from mes.models import User, Workstation
from mes.selectors import sites_visible_to
from workorders.models import Handover, HandoverAcknowledgement


def _waiting() -> QuerySet[Handover]:
    acknowledged = HandoverAcknowledgement.objects.filter(handover=OuterRef("pk"))
    return (
        Handover.objects.filter(~Exists(acknowledged))
        .select_related("author", "line__site", "workstation")
        .order_by("created_at", "id")
    )


def handovers_waiting_at(workstation: Workstation, user: User | None = None) -> list[Handover]:
    """Unacknowledged handovers meant for `workstation`, oldest first; without those `user` wrote."""
    waiting = _waiting().filter(
        Q(workstation=workstation) | Q(workstation__isnull=True), line_id=workstation.line_id
    )
    if user is not None:
        waiting = waiting.exclude(author=user)
    return list(waiting)


def handovers_waiting_for_board(user: User, *, limit: int = 50) -> tuple[list[Handover], int]:
    """Unacknowledged handovers of the sites `user` sees, oldest first (at most `limit`), and how
    many there are in all."""
    waiting = _waiting().filter(line__site__in=sites_visible_to(user))
    return list(waiting[:limit]), waiting.count()


def handovers_left_at(workstation: Workstation, *, limit: int = 10) -> list[Handover]:
    """The latest handovers meant for `workstation`, newest first, with who acknowledged them."""
    return list(
        Handover.objects.filter(
            Q(workstation=workstation) | Q(workstation__isnull=True), line_id=workstation.line_id
        )
        .select_related("author", "workstation")
        .prefetch_related("acknowledgements__user")
        .order_by("-created_at", "-id")[:limit]
    )
