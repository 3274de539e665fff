"""No way around the controls: every way an order completes or closes asks the same guards, and
only a supervisor's signed override goes past the ones it may.

The scenario: an order of 10 over two operations; operation 10 has a checklist due at its
completion, counted 8 good (short of its last unit, so the count's interlock never asked for the
checklist), and operation 20 counted 8 too.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integration.services.inbound import inbound_apply
from mes.errors import Conflict, ValidationFailed
from mes.signatures import Meaning, Signature, signature_is_intact, signatures_for
from mes.tests.factories import WorkstationFactory
from quality import services
from quality.models import Hold, OperationChecklist
from quality.states import HoldStatus, HoldTarget
from quality.tests.conftest import PASSWORD, answers_for, key
from workorders import services as production
from workorders.models import ProductionEvent, WorkOrder
from workorders.services.machine import CountSample, machine_counts_record, machine_user
from workorders.services.orders import OverridableRefusal
from workorders.tests.factories import released_order

REASON = "Material ran out; customer takes 8"


@pytest.fixture
def stations(site):
    first = WorkstationFactory(line__site=site, code="ASM1")
    return first, WorkstationFactory(line=first.line, code="PACK1")


@pytest.fixture
def order(supervisor, stations, hold_reasons, template, operator):
    order = released_order(user=supervisor, workstations=list(stations), quantity=10)
    op10, op20 = order.operations.order_by("sequence")
    OperationChecklist.objects.create(
        routing_operation=op10.routing_operation, template=template, trigger="at_completion"
    )
    for op, station in ((op10, stations[0]), (op20, stations[1])):
        production.operation_start(operation_id=op.pk, workstation=station, user=operator, key=key())
        production.operation_record_good(
            operation_id=op.pk, workstation=station, user=operator, quantity=8, key=key()
        )
    order.refresh_from_db()
    return order


def complete(order, user, **extra):
    return production.workorder_transition(
        work_order_id=order.pk, target="completed", user=user, key=key(), reason=REASON, **extra
    )


def written(order) -> tuple:
    """What a refusal must leave as it was: the order's status, its events and the signatures."""
    order.refresh_from_db()
    return order.status, ProductionEvent.objects.filter(work_order=order).count(), Signature.objects.count()


def test_complete_short_is_refused_while_a_completion_checklist_is_missing(order, supervisor):
    before = written(order)

    with pytest.raises(OverridableRefusal) as refused:
        complete(order, supervisor)

    assert refused.value.status_code == 409 and refused.value.code == "checklist_missing"
    assert "CL1" in refused.value.message and "operation 10" in refused.value.message
    assert refused.value.as_dict()["overridable"] is True
    assert written(order) == before


def test_a_supervisor_completes_over_the_refusal_with_a_signed_override(order, supervisor):
    recorded = complete(order, supervisor, override=True, password=PASSWORD)

    order.refresh_from_db()
    assert order.status == "completed" and order.quantity_good == Decimal(8)
    event = recorded.event
    assert event.override_by == supervisor and event.note == REASON
    [refusal] = event.data["override"]["refusals"]
    assert refusal["code"] == "checklist_missing" and "CL1" in refusal["message"]
    assert event.data["override"]["quantity_good"] == "8"
    [signature] = signatures_for(event)
    assert signature.meaning == Meaning.OVERRIDDEN and signature.signer == supervisor
    assert signature.comment == REASON and signature_is_intact(signature, event)


def test_a_retried_override_completes_once_and_asks_no_second_password(order, supervisor):
    same = key()
    first = production.workorder_transition(
        work_order_id=order.pk, target="completed", user=supervisor, key=same, reason=REASON,
        override=True, password=PASSWORD,
    )  # fmt: skip
    again = production.workorder_transition(
        work_order_id=order.pk, target="completed", user=supervisor, key=same, reason=REASON, override=True
    )
    assert again.replayed and again.event == first.event
    assert Signature.objects.filter(meaning=Meaning.OVERRIDDEN).count() == 1


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"override": True}, "password"),
        ({"override": True, "password": "not-it"}, "password"),
        ({"override": True, "password": PASSWORD, "reason": " "}, "reason"),
    ],
)
def test_an_override_without_its_reason_or_signature_is_refused_and_writes_nothing(
    order, supervisor, extra, field
):
    before = written(order)
    body = {"reason": REASON, **extra}

    with pytest.raises(ValidationFailed) as refused:
        production.workorder_transition(
            work_order_id=order.pk, target="completed", user=supervisor, key=key(), **body
        )

    assert refused.value.field == field
    assert written(order) == before


def test_no_override_passes_a_quality_hold(order, supervisor, site):
    # However the hold came to be active on a running order, no override completes past it.
    Hold.objects.create(
        target=HoldTarget.WORK_ORDER, work_order=order, site=site, reason="Torque tool suspect",
        placed_by=supervisor, placed_at=timezone.now(), status=HoldStatus.ACTIVE,
    )  # fmt: skip
    before = written(order)

    with pytest.raises(Conflict) as refused:
        complete(order, supervisor, override=True, password=PASSWORD)

    assert refused.value.code == "order_held" and not isinstance(refused.value, OverridableRefusal)
    assert written(order)[:2] == before[:2]
    assert not Signature.objects.filter(meaning=Meaning.OVERRIDDEN).exists()


def test_the_last_count_asks_the_same_guard_for_every_operation(order, stations, operator):
    op20 = order.operations.get(sequence=20)

    with pytest.raises(OverridableRefusal) as refused:
        production.operation_record_good(
            operation_id=op20.pk, workstation=stations[1], user=operator, quantity=2, key=key()
        )

    assert "operation 10" in refused.value.message
    order.refresh_from_db()
    op20.refresh_from_db()
    assert order.status == "in_progress" and op20.quantity_good == Decimal(8)


def test_machine_counts_that_would_complete_the_order_are_refused_and_kept_unassigned(order, stations):
    result = machine_counts_record(
        workstation=stations[1], samples=[CountSample("m-1", good=Decimal(2))], user=machine_user()
    )

    assert result.unassigned == Decimal(2) and "CL1" in result.refused[0]
    order.refresh_from_db()
    assert order.status == "in_progress" and order.quantity_good == Decimal(8)


def test_filling_the_checklist_lets_every_path_complete_without_an_override(
    order, stations, operator, template
):
    op10, op20 = order.operations.order_by("sequence")
    services.checklist_run_submit(
        key=key(), user=operator, workstation=stations[0], template=template,
        answers=answers_for(template), operation_id=op10.pk, trigger="at_completion",
    )  # fmt: skip

    production.operation_record_good(
        operation_id=op20.pk, workstation=stations[1], user=operator, quantity=2, key=key()
    )

    order.refresh_from_db()
    assert order.status == "completed"
    assert not Signature.objects.filter(meaning=Meaning.OVERRIDDEN).exists()


def test_the_api_answers_overridable_then_takes_the_signed_override(order, supervisor):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=supervisor).key}")
    url = f"/api/v1/work-orders/{order.pk}/transition/"
    body = {"status": "completed", "version": order.version, "reason": REASON}

    refused = api.post(url, {**body, "idempotency_key": str(uuid.uuid4())}, format="json")
    assert refused.status_code == 409
    assert refused.json()["overridable"] is True and refused.json()["code"] == "checklist_missing"

    unsigned = api.post(url, {**body, "idempotency_key": str(uuid.uuid4()), "override": True}, format="json")
    assert unsigned.status_code == 400 and "password" in unsigned.json()["errors"]

    done = api.post(
        url,
        {**body, "idempotency_key": str(uuid.uuid4()), "override": True, "password": PASSWORD},
        format="json",
    )
    assert done.status_code == 201 and done.json()["status"] == "completed"
    assert Signature.objects.filter(meaning=Meaning.OVERRIDDEN, signer=supervisor).count() == 1


def test_neither_the_erp_nor_the_board_closes_an_order_under_a_quality_hold(
    order, supervisor, quality_user, make_user
):
    complete(order, supervisor, override=True, password=PASSWORD)
    services.hold_place(key=key(), user=quality_user, work_order=order, reason="Customer complaint")
    order.refresh_from_db()
    assert order.status == "completed"  # a completed order is not put on hold, its hold stays active

    result = inbound_apply(
        kind="work_order",
        key=order.number,
        data={"material": order.product.part_number, "quantity": "10", "status": "closed"},
        user=make_user("erp", username="erp-api"),
    )
    assert not result.ok and result.code == "quality_hold_active" and "status" in result.errors

    with pytest.raises(Conflict) as refused:
        production.workorder_transition(
            work_order_id=order.pk, target="closed", user=supervisor, key=key(), reason="Done"
        )
    assert refused.value.code == "quality_hold_active"
    assert WorkOrder.objects.get(pk=order.pk).status == "completed"


def test_board_complete_short_form_needs_reason_and_signature_to_override(order, client_for, supervisor):
    board = client_for(supervisor)

    def post(**data):
        body = {"status": "completed", "version": order.version, "idempotency_key": str(uuid.uuid4()), **data}
        return board.post(f"/board/orders/{order.pk}/transition/", body, headers={"HX-Request": "true"})

    refused = post(reason=REASON)
    page = refused.content.decode()
    assert refused.status_code == 409 and "CL1" in page
    assert 'name="override"' in page and 'name="password"' in page  # the override is offered

    before = written(order)
    no_password = post(reason=REASON, override="1")
    assert no_password.status_code == 400 and 'data-field="password"' in no_password.content.decode()
    assert REASON in no_password.content.decode()  # what was typed stays
    no_reason = post(override="1", password=PASSWORD)
    assert no_reason.status_code == 400 and 'data-field="reason"' in no_reason.content.decode()
    assert written(order) == before

    done = post(reason=REASON, override="1", password=PASSWORD)
    assert done.status_code == 200 and "Completed" in done.content.decode()
    order.refresh_from_db()
    assert order.status == "completed"
    assert Signature.objects.filter(meaning=Meaning.OVERRIDDEN, signer=supervisor).count() == 1
