import gc
import hashlib
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mes.errors import NotFound, ValidationFailed
from mes.signatures import Meaning
from quality.models import (
    Hold,
    Nonconformance,
)
from quality.states import HoldTarget
from traceability import selectors
from traceability.tests.factories import T0, checklist_run, link, made_lot, order, signature, supplier_lot
from workorders.models import GenealogyLink, Lot
from workorders.states import LotKind

pytestmark = pytest.mark.django_db


def codes(nodes):
    return sorted(n.code for n in nodes)


@pytest.mark.requirement("MES-003")
def test_backward_trace_of_a_serial_lists_every_ancestor_with_depth(genealogy):
    trace = selectors.trace_backward(genealogy.lots["SN-3"])

    assert codes(trace.nodes.values()) == ["SCREW-1", "SN-3", "STEEL-1", "STEEL-2", "SUB-1", "SUB-2"]
    depth = {n.code: n.depth for n in trace.nodes.values()}
    assert depth == {"SN-3": 0, "SUB-1": 1, "SUB-2": 1, "STEEL-1": 2, "STEEL-2": 2, "SCREW-1": 2}
    assert {(trace.nodes[e.parent_id].code, trace.nodes[e.child_id].code) for e in trace.edges} == {
        ("SUB-1", "SN-3"),
        ("SUB-2", "SN-3"),
        ("STEEL-1", "SUB-1"),
        ("SCREW-1", "SUB-1"),
        ("STEEL-2", "SUB-2"),
    }
    root = trace.root
    assert (root.code, root.kind, root.part_number, root.work_order_number) == (
        "SN-3", "serial", "FIN-200", "WO-FIN-1",
    )  # fmt: skip
    assert selectors.trace_context(trace).for_node(root).made_by == genealogy.user.printed_name
    assert trace.affected == []


def test_a_lot_reached_on_two_paths_appears_once_at_its_shortest_depth(genealogy):
    trace = selectors.trace_backward(genealogy.lots["SN-1"])

    assert codes(trace.nodes.values()) == ["SCREW-1", "SN-1", "STEEL-1", "SUB-1"]
    assert trace.nodes[genealogy.lots["SCREW-1"].pk].depth == 1


@pytest.mark.requirement("MES-003")
def test_forward_trace_from_a_raw_lot_lists_exactly_the_finished_units_built_from_it(genealogy):
    trace = selectors.trace_forward(genealogy.lots["STEEL-1"])

    assert codes(trace.nodes.values()) == ["SN-1", "SN-2", "SN-3", "STEEL-1", "SUB-1"]
    assert [n.code for n in trace.affected] == ["SN-1", "SN-2", "SN-3"]
    assert all(n.finished and n.status == "available" and not n.on_hold for n in trace.affected)

    other = selectors.trace_forward(genealogy.lots["STEEL-2"])
    assert [n.code for n in other.affected] == ["SN-3", "SN-4"]


def test_recall_list_shows_a_held_unit_as_on_hold(genealogy):
    Hold.objects.create(
        target=HoldTarget.LOT, lot_code="SN-2", site=genealogy.site, reason="Customer complaint",
        placed_by=genealogy.user, placed_at=T0,
    )  # fmt: skip

    affected = {n.code: n.on_hold for n in selectors.trace_forward(genealogy.lots["STEEL-1"]).affected}

    assert affected == {"SN-1": False, "SN-2": True, "SN-3": False}


def test_unfinished_leaves_are_in_the_recall_list_after_the_finished_units(genealogy):
    g = genealogy
    wo = order(product=g.products["sub"], workstation=g.workstation, user=g.user, number="WO-SUB-3")
    spare = made_lot(code="SUB-3", wo=wo, user=g.user)
    link(g.lots["STEEL-1"], spare, user=g.user)

    affected = selectors.trace_forward(g.lots["STEEL-1"]).affected

    assert [(n.code, n.finished) for n in affected] == [
        ("SN-1", True), ("SN-2", True), ("SN-3", True), ("SUB-3", False),
    ]  # fmt: skip


def test_each_direction_is_one_query_whatever_the_depth(genealogy, django_assert_num_queries):
    g = genealogy
    # Make the chain deeper: SN-1 goes into a pallet lot, which goes into a shipment lot.
    parent = g.lots["SN-1"]
    for level in range(6):
        wo = order(product=g.products["sub"], workstation=g.workstation, user=g.user, number=f"WO-D{level}")
        child = made_lot(code=f"DEEP-{level}", wo=wo, user=g.user)
        link(parent, child, user=g.user)
        parent = child

    with django_assert_num_queries(1):
        forward = selectors.trace_forward(g.lots["STEEL-1"])
    with django_assert_num_queries(1):
        backward = selectors.trace_backward(parent)

    assert forward.max_depth == 8
    assert [n.code for n in forward.affected] == ["SN-2", "SN-3", "DEEP-5"]
    assert backward.max_depth == 8
    assert "STEEL-1" in {n.code for n in backward.nodes.values()}


def test_a_cycle_in_the_links_ends_the_walk_instead_of_looping(genealogy):
    # The services refuse cycles; the query must still end if one were ever written.
    g = genealogy
    GenealogyLink.objects.create(
        parent=g.lots["SN-1"], child=g.lots["STEEL-1"], quantity=Decimal(1),
        event=GenealogyLink.objects.first().event,
    )  # fmt: skip

    forward = selectors.trace_forward(g.lots["STEEL-1"])
    backward = selectors.trace_backward(g.lots["STEEL-1"])

    assert codes(forward.nodes.values()) == ["SN-1", "SN-2", "SN-3", "STEEL-1", "SUB-1"]
    assert "SN-1" in codes(backward.nodes.values())


def test_context_is_fetched_in_a_fixed_number_of_queries(genealogy):
    g = genealogy
    small = selectors.trace_backward(g.lots["SN-1"])
    with CaptureQueriesContext(connection) as few:
        selectors.trace_context(small)
    # Ten more serials on ten more orders: the count does not grow with the nodes.
    for n in range(10):
        wo = order(product=g.products["fin"], workstation=g.workstation, user=g.user, number=f"WO-X{n}")
        unit = made_lot(code=f"SNX-{n}", wo=wo, user=g.user, kind=LotKind.SERIAL)
        link(g.lots["SUB-1"], unit, user=g.user)
    big = selectors.trace_forward(g.lots["STEEL-1"])
    with CaptureQueriesContext(connection) as many:
        selectors.trace_context(big)

    assert len(big.nodes) > len(small.nodes) + 9
    assert len(many) <= len(few) + 1 <= 10


def test_node_context_has_order_operations_operators_measurements_ncs_holds_and_signatures(genealogy):
    g = genealogy
    wo = g.orders["fin"]
    run = checklist_run(g, wo)
    signature(run, g.user)
    nc = Nonconformance.objects.create(
        number="NC-1", site=g.site, title="Scratch on housing", work_order=wo, opened_by=g.user, opened_at=T0
    )
    signature(nc, g.user, Meaning.REVIEWED)
    Hold.objects.create(
        target=HoldTarget.LOT, lot_code="SUB-1", site=g.site, reason="Check weld", placed_by=g.user,
        placed_at=T0,
    )  # fmt: skip

    trace = selectors.trace_backward(g.lots["SN-1"], context=True)
    ctx = trace.context.for_node(trace.root)

    assert ctx.order.number == "WO-FIN-1"
    [op] = ctx.order.operations
    assert (op.sequence, op.workstation) == (10, "ASM1")
    assert [w.name for w in op.operators] == [g.user.printed_name]
    assert op.started_at is not None and op.ended_at >= op.started_at
    [run_ctx] = ctx.order.runs
    assert run_ctx.template == "TORQUE"
    [measurement] = run_ctx.responses
    assert (measurement.prompt, measurement.value, measurement.in_spec) == ("Torque", "5.10 Nm", True)
    [sig] = run_ctx.signatures
    assert sig.intact and sig.meaning == "Performed" and sig.printed_name == g.user.printed_name
    assert [n.number for n in ctx.order.nonconformances] == ["NC-1"]
    assert ctx.order.nonconformances[0].signatures[0].meaning == "Reviewed"
    sub = trace.context.for_node(trace.nodes[g.lots["SUB-1"].pk])
    assert [h.reason for h in sub.holds] == ["Check weld"]
    assert trace.nodes[g.lots["SUB-1"].pk].on_hold


def test_a_signature_on_a_changed_record_shows_as_broken(genealogy):
    g = genealogy
    nc = Nonconformance.objects.create(
        number="NC-2", site=g.site, title="Dent", work_order=g.orders["fin"], opened_by=g.user, opened_at=T0
    )
    signature(nc, g.user)
    Nonconformance.objects.filter(pk=nc.pk).update(title="Something else")

    trace = selectors.trace_backward(g.lots["SN-1"], context=True)

    [sig] = trace.context.for_node(trace.root).order.nonconformances[0].signatures
    assert not sig.intact
    assert "BROKEN" in str(sig)


def test_lookup_by_serial_lot_order_and_supplier_lot(genealogy, auditor):
    assert [lot.code for lot in selectors.trace_lookup(user=auditor, query="SN-2").lots] == ["SN-2"]
    assert [lot.code for lot in selectors.trace_lookup(user=auditor, query=" SUB-1 ").lots] == ["SUB-1"]
    by_order = selectors.trace_lookup(user=auditor, query="WO-FIN-1")
    assert by_order.work_order.number == "WO-FIN-1"
    assert [lot.code for lot in by_order.lots] == ["SN-1", "SN-2", "SN-3", "SN-4"]
    assert [lot.code for lot in selectors.trace_lookup(user=auditor, query="ACME-STEEL-2").lots] == [
        "STEEL-2"
    ]


def test_unknown_code_and_another_sites_lot_get_the_same_clear_answer(genealogy, local_quality):
    with pytest.raises(NotFound) as unknown:
        selectors.trace_lookup(user=local_quality, query="NOPE-1")
    with pytest.raises(NotFound) as elsewhere:
        selectors.trace_lookup(user=local_quality, query="SN-1")
    with pytest.raises(NotFound):
        selectors.lot_for_trace(user=local_quality, code="SN-1")

    assert "No serial, lot or order 'NOPE-1'" in unknown.value.message
    assert elsewhere.value.message == "No serial, lot or order 'SN-1' on the sites you may see."
    with pytest.raises(ValidationFailed):
        selectors.trace_lookup(user=local_quality, query="  ")


def test_ancestors_on_a_site_the_user_cannot_see_are_marked_and_carry_no_context(
    genealogy, other_site, supervisor
):
    g = genealogy
    foreign = supplier_lot(code="FOREIGN-1", product=g.products["screw"], site=other_site)
    link(foreign, g.lots["SN-4"], user=g.user)

    trace = selectors.trace_backward(g.lots["SN-4"], user=supervisor, context=True)
    node = next(n for n in trace.nodes.values() if n.code == "FOREIGN-1")

    assert not node.visible
    assert selectors.node_data(node, trace.context) == {
        "lot": "FOREIGN-1", "depth": 1, "visible": False, "site": "PLANT2",
    }  # fmt: skip


def test_the_trace_hash_is_stable_and_changes_with_the_data(genealogy):
    lot = genealogy.lots["SN-3"]
    first = selectors.trace_hash(selectors.trace_data(selectors.trace_backward(lot, context=True)))
    again = selectors.trace_hash(selectors.trace_data(selectors.trace_backward(lot, context=True)))
    Lot.objects.filter(code="STEEL-2").update(status="consumed")
    changed = selectors.trace_hash(selectors.trace_data(selectors.trace_backward(lot, context=True)))

    assert first == again != changed
    assert len(first) == 64


@pytest.mark.parametrize(("code", "direction"), [("SN-3", "backward"), ("STEEL-1", "forward")])
def test_the_hash_made_piece_by_piece_is_the_hash_of_the_whole_data(genealogy, code, direction):
    signature(checklist_run(genealogy, genealogy.orders["fin"]), genealogy.user)
    trace = selectors.trace(genealogy.lots[code], direction, context=True)

    data = selectors.trace_data(trace)
    whole = hashlib.sha256(selectors.canonical_json(data).encode()).hexdigest()
    assert selectors.trace_content_hash(trace) == selectors.trace_hash(data) == whole


def test_a_big_trace_leaves_the_collector_as_it_found_it(genealogy, monkeypatch):
    from traceability.selectors import graph

    monkeypatch.setattr(graph, "LONG_LIVED_ROWS", 1)  # every trace counts as big
    assert gc.isenabled() and gc.get_freeze_count() == 0

    trace = selectors.trace_forward(genealogy.lots["STEEL-1"])

    assert codes(trace.nodes.values()) == ["SN-1", "SN-2", "SN-3", "STEEL-1", "SUB-1"]
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_wrong_direction_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        selectors.trace(Lot(pk=1), "sideways")
    assert refused.value.field == "direction"
