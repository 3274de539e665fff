"""The guards quality registers on production (see `QualityConfig.ready`):

- **checklist interlock**: an operation whose required checklist is not done cannot start,
  count its last units, or go past the next N units, with a message naming the checklist;
- **no work on a held order**: nothing is recorded against an order with an active hold, and
  the order does not leave its hold on the board while a quality hold is active;
- **no consumption of a held lot**: a lot (or serial) under an active hold is not consumed.

Guards run inside the production service's transaction, after it has locked the operation.
"""

from __future__ import annotations

from decimal import Decimal

from mes.errors import Conflict
from quality import selectors
from quality.models import Hold
from quality.states import HoldStatus, HoldTarget, Trigger


def _missing(name: str, moment: str):
    raise Conflict(
        f"Checklist {name} is not done: fill it {moment}.", field="checklist", code="checklist_missing"
    )


def no_work_on_held_order(*, work_order, **context) -> None:
    hold = Hold.objects.filter(work_order_id=work_order.pk, status=HoldStatus.ACTIVE).first()
    if hold is not None:
        raise Conflict(
            f"Order {work_order.number} is on quality hold ({hold.reason}): nothing can be recorded against it.",
            field="work_order",
            code="order_held",
        )


def no_consume_of_held_lot(*, lot, **context) -> None:
    hold = Hold.objects.filter(target=HoldTarget.LOT, lot_code=lot.code, status=HoldStatus.ACTIVE).first()
    if hold is not None:
        raise Conflict(
            f"Lot {lot.code} is on quality hold ({hold.reason}): it cannot be consumed.",
            field="lot",
            code="lot_held",
        )


def no_release_while_held(*, work_order, **context) -> None:
    """An order under an active quality hold leaves its hold only when quality releases the hold."""
    hold = Hold.objects.filter(work_order_id=work_order.pk, status=HoldStatus.ACTIVE).first()
    if hold is not None:
        raise Conflict(
            f"Order {work_order.number} has an active quality hold ({hold.reason}); quality releases it.",
            field="status",
            code="quality_hold_active",
        )


def checklist_before_start(*, work_order, operation, **context) -> None:
    for need in selectors.requirements_for(operation):
        if need.trigger in (Trigger.AT_START, Trigger.ONCE_PER_SHIFT) and not need.done:
            _missing(need.name, "before starting the operation")


def checklist_before_units(*, work_order, operation, quantity: Decimal = Decimal("0"), **context) -> None:
    after = operation.quantity_good + (quantity or 0)
    for need in selectors.requirements_for(operation, units_after=after):
        if need.trigger == Trigger.AT_COMPLETION and after >= work_order.quantity and not need.done:
            _missing(need.name, "before completing the operation")
        elif need.trigger == Trigger.EVERY_N_UNITS and not need.done:
            _missing(need.name, f"every {need.every_n_units} units before counting more")
        elif need.trigger == Trigger.ONCE_PER_SHIFT and not need.done:
            _missing(need.name, "once this shift before counting")


def register() -> None:
    from mes.hooks import register_guard

    for action in ("operation_start", "operation_record_good", "operation_record_scrap", "operation_consume"):
        register_guard(action, no_work_on_held_order)
    register_guard("operation_consume", no_consume_of_held_lot)
    register_guard("workorder_release_hold", no_release_while_held)
    register_guard("operation_start", checklist_before_start)
    register_guard("operation_record_good", checklist_before_units)
