"""What the tablet offers the operator for an operation: decided here, shown by the page.

The operation screen enables only the taps the production services would accept in the
operation's state, and none while its order is not workable (on hold, completed...). The same
answer tells the page what a tap still waiting on the tablet makes of the operation, so
an operator working offline can start and then count: the page applies the waiting taps with the
server's `moves` and enables what `by_state` offers in the state they lead to. The services still
check every tap (`workorders.services`); this only keeps the screen from offering what they refuse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from workorders.models import WorkOrderOperation
from workorders.states import WORKABLE, EventKind, OperationStatus, kind_word

# The taps each operation state accepts: the guards of the operation services.
ACTIONS_BY_STATE: dict[str, tuple[str, ...]] = {
    OperationStatus.PENDING: (EventKind.START,),
    OperationStatus.RUNNING: (EventKind.PAUSE, EventKind.GOOD, EventKind.SCRAP, EventKind.CONSUME),
    OperationStatus.PAUSED: (EventKind.RESUME, EventKind.SCRAP, EventKind.CONSUME),
    OperationStatus.DONE: (),
}
# The state a tap leaves the operation in. A completion may finish the operation; only the
# server knows when, so a waiting one changes nothing on the screen until it is saved.
MOVES: dict[str, str] = {
    EventKind.START: OperationStatus.RUNNING,
    EventKind.PAUSE: OperationStatus.PAUSED,
    EventKind.RESUME: OperationStatus.RUNNING,
}


@dataclass(frozen=True)
class OperationActions:
    status: str
    workable: bool
    by_state: dict[str, list[str]]

    @property
    def allowed(self) -> list[str]:
        """The taps the screen offers now."""
        return self.by_state.get(self.status, [])

    @property
    def by_state_json(self) -> str:
        return json.dumps(self.by_state, sort_keys=True)

    @property
    def moves_json(self) -> str:
        return json.dumps({kind_word(kind): str(state) for kind, state in MOVES.items()}, sort_keys=True)


def operation_actions(operation: WorkOrderOperation) -> OperationActions:
    """The taps the tablet offers for `operation` (its work order loaded), in each state it can
    reach from the tablet; nothing at all while the order is not workable."""
    workable = operation.work_order.status in WORKABLE
    by_state = {
        str(state): [kind_word(kind) for kind in kinds] if workable else []
        for state, kinds in ACTIONS_BY_STATE.items()
    }
    return OperationActions(status=str(operation.status), workable=workable, by_state=by_state)


def running_besides(operation: WorkOrderOperation) -> list[WorkOrderOperation]:
    """The other operations running at `operation`'s workstation. The workstation's counts (and a
    machine's) go to the operation started last, so a start here first asks to pause these."""
    return list(
        WorkOrderOperation.objects.filter(
            workstation_id=operation.workstation_id, status=OperationStatus.RUNNING
        )
        .exclude(pk=operation.pk)
        .select_related("work_order")
        .order_by("started_at", "pk")
    )
