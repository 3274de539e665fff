"""Through the production services: lots received, consumed at operations and made by
completions, then traced and exported — the genealogy the floor writes is the one the auditor
reads."""

import json
from decimal import Decimal

import pytest

from mes import roles
from traceability import selectors
from traceability.reports import epcis, trace
from workorders.models import Lot
from workorders.tests.lotdata import consume, good, products, receive, running_order

pytestmark = pytest.mark.django_db


def test_floor_genealogy_traces_backward_and_forward(site, make_user, supervisor, operator, settings):
    settings.GS1_COMPANY_PREFIX = "9501101"
    auditor = make_user(roles.AUDITOR)
    plant = products(supervisor)
    steel = receive(plant.raw, site, 100, supervisor, code="COIL-7")
    receive(plant.seal, site, 50, supervisor, code="SEALS-3")
    sub_order, [sub_op] = running_order(plant.sub, supervisor, operator, quantity=4, site=site)
    consume(sub_op, operator, "COIL-7", Decimal("10"))
    good(sub_op, operator, 4)
    [sub_lot] = Lot.objects.filter(work_order=sub_order)
    fg_order, [fg_op] = running_order(plant.fg, supervisor, operator, quantity=2, site=site)
    consume(fg_op, operator, sub_lot.code, Decimal("2"))
    consume(fg_op, operator, "SEALS-3", Decimal("4"))
    good(fg_op, operator, 2)
    serials = sorted(Lot.objects.filter(work_order=fg_order).values_list("code", flat=True))
    assert len(serials) == 2

    forward = selectors.trace_forward(steel, user=auditor)
    backward = selectors.trace_backward(Lot.objects.get(code=serials[0]), user=auditor, context=True)

    assert [n.code for n in forward.affected] == serials
    assert {n.code for n in backward.nodes.values()} == {serials[0], sub_lot.code, "COIL-7", "SEALS-3"}
    ctx = backward.context.for_node(backward.root)
    assert ctx.order.number == fg_order.number
    assert ctx.order.operations[0].operators[0].name == operator.printed_name

    doc = trace.trace_document(lot=Lot.objects.get(code=serials[0]), direction="backward", user=auditor)
    document = json.loads(epcis.build_epcis(doc).content)
    outputs = [e.get("outputEPCList") for e in document["epcisBody"]["eventList"]]
    assert [f"urn:epc:id:sgtin:9501101.053000.{serials[0]}"] in outputs
