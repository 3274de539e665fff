"""Property: whatever the floor does, the projections rebuilt from the ledger equal the live ones,
and counters equal the sum of the accepted events."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mes.errors import MesError
from mes.tests.factories import WorkstationFactory
from workorders import services
from workorders.models import ProductionEvent, WorkOrder, WorkOrderOperation
from workorders.tests.factories import key, reasons, released_order
from workorders.tests.test_ledger_services import snapshot

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["start", "pause", "resume", "good", "scrap", "hold", "unhold", "retry"]),
        st.integers(min_value=0, max_value=1),  # which operation
        st.integers(min_value=1, max_value=6),  # quantity
    ),
    min_size=1,
    max_size=40,
)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_rebuild_equals_live_for_any_sequence_of_actions(site, operator, supervisor, actions):
    reasons()
    first_ws = WorkstationFactory(line__site=site)
    second_ws = WorkstationFactory(line=first_ws.line)
    order = released_order(user=supervisor, workstations=[first_ws, second_ws], quantity=12)
    operations = list(order.operations.order_by("sequence"))
    last_good = None
    for name, which, qty in actions:
        op = operations[which]
        base = {"operation_id": op.pk, "workstation": op.workstation, "user": operator}
        try:
            if name == "start":
                services.operation_start(**base, key=key())
            elif name == "pause":
                services.operation_pause(**base, reason="BREAK", key=key())
            elif name == "resume":
                services.operation_resume(**base, key=key())
            elif name == "good":
                last_good = (base, qty, key())
                services.operation_record_good(**base, quantity=qty, key=last_good[2])
            elif name == "scrap":
                services.operation_record_scrap(**base, quantity=qty, reason="SCRATCH", key=key())
            elif name == "hold":
                services.workorder_transition(
                    work_order_id=order.pk, target="on_hold", user=supervisor, key=key(), reason_code="QHOLD"
                )
            elif name == "unhold":
                services.workorder_release_hold(work_order_id=order.pk, user=supervisor, key=key())
            elif name == "retry" and last_good:
                services.operation_record_good(**last_good[0], quantity=last_good[1], key=last_good[2])
        except MesError:
            pass  # a refused action writes nothing; the invariants below must still hold

    live = snapshot()
    for op in WorkOrderOperation.objects.all():
        events = ProductionEvent.objects.filter(operation=op)
        assert op.quantity_good == sum((e.quantity for e in events.filter(kind="complete")), Decimal(0))
        assert op.quantity_scrap == sum((e.quantity for e in events.filter(kind="scrap")), Decimal(0))

    WorkOrderOperation.objects.update(quantity_good=0, quantity_scrap=0, status="pending", started_at=None)
    WorkOrder.objects.update(quantity_good=0, quantity_scrap=0, status="draft", released_at=None)
    services.rebuild_projections()
    assert snapshot() == live
