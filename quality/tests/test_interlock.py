"""The guards quality registers on production: checklist interlock, no work on a held order."""

import pytest

from mes.errors import Conflict
from quality import services
from quality.models import OperationChecklist
from quality.tests.conftest import answers_for, key
from workorders import services as production


def _attach(operation, template, trigger, n=None):
    return OperationChecklist.objects.create(
        routing_operation=operation.routing_operation, template=template, trigger=trigger, every_n_units=n
    )


def _fill(template, operator, workstation, operation, trigger):
    return services.checklist_run_submit(
        key=key(),
        user=operator,
        workstation=workstation,
        template=template,
        answers=answers_for(template),
        operation_id=operation.pk,
        trigger=trigger,
    )


def _start(operation, workstation, operator):
    return production.operation_start(
        operation_id=operation.pk, workstation=workstation, user=operator, key=key()
    )


def _good(operation, workstation, operator, qty):
    return production.operation_record_good(
        operation_id=operation.pk, workstation=workstation, user=operator, quantity=qty, key=key()
    )


def test_an_operation_cannot_start_before_its_start_checklist_naming_it(
    template, operation, workstation, operator
):
    _attach(operation, template, "at_start")

    with pytest.raises(Conflict) as refused:
        _start(operation, workstation, operator)
    assert "CL1" in refused.value.message and refused.value.code == "checklist_missing"
    operation.refresh_from_db()
    assert operation.status == "pending"

    _fill(template, operator, workstation, operation, "at_start")
    _start(operation, workstation, operator)
    operation.refresh_from_db()
    assert operation.status == "running"


def test_an_operation_cannot_complete_before_its_completion_checklist(
    template, operation, workstation, operator
):
    _attach(operation, template, "at_completion")
    _start(operation, workstation, operator)
    _good(operation, workstation, operator, 9)  # not yet the last units

    with pytest.raises(Conflict) as refused:
        _good(operation, workstation, operator, 1)
    assert "CL1" in refused.value.message and "completing" in refused.value.message

    _fill(template, operator, workstation, operation, "at_completion")
    _good(operation, workstation, operator, 1)
    operation.refresh_from_db()
    assert operation.status == "done"


def test_every_n_units_needs_a_check_after_each_block(template, operation, workstation, operator):
    _attach(operation, template, "every_n_units", n=4)
    _start(operation, workstation, operator)
    _good(operation, workstation, operator, 4)

    with pytest.raises(Conflict):
        _good(operation, workstation, operator, 1)
    _fill(template, operator, workstation, operation, "every_n_units")
    _good(operation, workstation, operator, 4)
    with pytest.raises(Conflict):
        _good(operation, workstation, operator, 1)


def test_once_per_shift_needs_a_run_at_the_workstation_this_shift(template, operation, workstation, operator):
    _attach(operation, template, "once_per_shift")
    with pytest.raises(Conflict):
        _start(operation, workstation, operator)
    _fill(template, operator, workstation, operation, "once_per_shift")
    _start(operation, workstation, operator)


@pytest.mark.requirement("MES-006")
def test_no_production_is_recorded_against_an_order_with_an_active_hold(
    order, operation, workstation, operator, quality_user
):
    _start(operation, workstation, operator)
    services.hold_place(key=key(), user=quality_user, work_order=order, reason="Suspect material")

    order.refresh_from_db()
    assert order.status == "on_hold"
    with pytest.raises(Conflict):
        _good(operation, workstation, operator, 1)


def test_the_hold_guard_refuses_even_when_the_order_status_says_workable(
    order, operation, workstation, operator, quality_user
):
    from quality.guards import no_work_on_held_order
    from quality.models import Hold

    Hold.objects.create(
        work_order=order, site=order.line.site, reason="x", placed_by=quality_user, placed_at=order.created_at
    )
    with pytest.raises(Conflict) as refused:
        no_work_on_held_order(work_order=order, operation=operation, user=operator)
    assert refused.value.code == "order_held"
