"""Consumption of component lots at an operation, and the genealogy it makes."""

import random
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mes.errors import Conflict, MesError, ValidationFailed
from quality.models import Hold
from quality.states import HoldTarget
from workorders import services
from workorders.models import Consumption, GenealogyLink, Lot, ProductionEvent
from workorders.services.lots import _ancestors_among
from workorders.states import EventKind, LotStatus
from workorders.tests.factories import key
from workorders.tests.lotdata import consume, good, products, receive, running_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def plant(supervisor):
    return products(supervisor)


def _nothing_written(before: int) -> None:
    assert ProductionEvent.objects.count() == before
    assert not Consumption.objects.exists()
    assert not GenealogyLink.objects.exists()


def test_consuming_a_lot_records_event_consumption_and_link_to_the_output_lot(
    site, plant, supervisor, operator
):
    raw = receive(plant.raw, site, 100, supervisor)
    order, (op,) = running_order(plant.sub, supervisor, operator, site=site)
    recorded = consume(op, operator, raw.code, "12.5")
    event = recorded.event
    assert (event.kind, event.quantity, event.work_order_id, event.operation_id) == (
        EventKind.CONSUME,
        Decimal("12.5"),
        order.pk,
        op.pk,
    )
    assert event.data["lot"] == raw.code and event.user == operator
    consumption = Consumption.objects.get()
    assert (consumption.lot_id, consumption.quantity, consumption.quantity_allocated) == (raw.pk, 12.5, 12.5)
    raw.refresh_from_db()
    assert (raw.quantity_consumed, raw.quantity_left, raw.status) == (
        Decimal("12.5"),
        87.5,
        LotStatus.AVAILABLE,
    )
    # The order's output lot is made on first need (quantity 0) and linked at once.
    output = Lot.objects.get(work_order=order)
    assert (output.quantity, output.created_event_id) == (0, event.pk)
    link = GenealogyLink.objects.get()
    assert (link.parent_id, link.child_id, link.quantity, link.event_id) == (
        raw.pk,
        output.pk,
        12.5,
        event.pk,
    )
    # Completions then fill the same lot.
    good(op, operator, 5)
    output.refresh_from_db()
    assert output.quantity == 5


def test_a_replayed_consumption_counts_once(site, plant, supervisor, operator):
    raw = receive(plant.raw, site, 100, supervisor)
    _order, (op,) = running_order(plant.sub, supervisor, operator, site=site)
    k = key()
    consume(op, operator, raw.code, 10, k=k)
    assert consume(op, operator, raw.code, 10, k=k).replayed
    raw.refresh_from_db()
    assert raw.quantity_consumed == 10
    assert Consumption.objects.count() == 1 and GenealogyLink.objects.count() == 1


def test_consuming_the_rest_marks_the_lot_consumed_and_refuses_more(site, plant, supervisor, operator):
    raw = receive(plant.raw, site, 10, supervisor)
    _order, (op,) = running_order(plant.sub, supervisor, operator, site=site)
    consume(op, operator, raw.code, 10)
    raw.refresh_from_db()
    assert raw.status == LotStatus.CONSUMED
    assert raw.history.first().history_user == operator
    with pytest.raises(Conflict) as refused:
        consume(op, operator, raw.code, 1)
    assert (refused.value.field, refused.value.code) == ("lot", "lot_not_available")


def test_quantity_defaults_to_what_the_order_needs_at_most_the_lot_rest(site, plant, supervisor, operator):
    small = receive(plant.raw, site, 10, supervisor)
    big = receive(plant.raw, site, 100, supervisor)
    _order, (op,) = running_order(
        plant.sub, supervisor, operator, quantity=8, site=site
    )  # needs 8 x 2.5 = 20
    assert consume(op, operator, small.code).event.quantity == 10
    assert consume(op, operator, big.code).event.quantity == 10
    with pytest.raises(ValidationFailed) as refused:
        consume(op, operator, big.code)
    assert refused.value.field == "quantity"


@pytest.mark.parametrize(
    ("case", "error", "field", "code", "words"),
    [
        ("unknown", ValidationFailed, "lot", "unknown_lot", "There is no lot NOPE"),
        (
            "not_in_bom",
            ValidationFailed,
            "lot",
            "not_in_bom",
            "is of part SEAL-1, which is not in the bill of materials of SUB-1",
        ),
        ("too_much", Conflict, "quantity", "over_lot_quantity", "Only 10 kg of lot"),
        ("held", Conflict, "lot", "lot_held", "on quality hold"),
        ("bad_quantity", ValidationFailed, "quantity", "not_positive", "more than zero"),
        ("other_site", ValidationFailed, "lot", "lot_other_site", "another site"),
    ],
)
def test_bad_consumptions_are_refused_with_field_and_reason(
    site, plant, supervisor, operator, case, error, field, code, words
):
    from mes.tests.factories import SiteFactory

    raw = receive(plant.raw, site, 10, supervisor, code="RAW-LOT-1")
    seal = receive(plant.seal, site, 10, supervisor, code="SEAL-LOT-1")
    _order, (op,) = running_order(plant.sub, supervisor, operator, site=site)
    lot_code, quantity = raw.code, "5"
    if case == "unknown":
        lot_code = "NOPE"
    elif case == "not_in_bom":
        lot_code = seal.code
    elif case == "too_much":
        quantity = "10.5"
    elif case == "held":
        Hold.objects.create(
            target=HoldTarget.LOT,
            lot_code=raw.code,
            site=site,
            reason="Supplier recall",
            placed_by=supervisor,
            placed_at=timezone.now(),
        )
    elif case == "bad_quantity":
        quantity = "0"
    elif case == "other_site":
        elsewhere = receive(plant.raw, SiteFactory(code="FAR"), 10, supervisor, code="FAR-1")
        lot_code = elsewhere.code
    before = ProductionEvent.objects.count()
    with pytest.raises(error) as refused:
        consume(op, operator, lot_code, quantity)
    assert (refused.value.field, refused.value.code) == (field, code)
    assert words in refused.value.message
    _nothing_written(before)
    raw.refresh_from_db()
    assert raw.quantity_consumed == 0


def test_consumption_on_an_order_on_hold_is_refused(site, plant, supervisor, operator, reasons):
    raw = receive(plant.raw, site, 10, supervisor)
    order, (op,) = running_order(plant.sub, supervisor, operator, site=site)
    services.workorder_transition(
        work_order_id=order.pk, target="on_hold", user=supervisor, key=key(), reason_code="QHOLD"
    )
    before = ProductionEvent.objects.count()
    with pytest.raises(Conflict) as refused:
        consume(op, operator, raw.code, 1)
    assert refused.value.code == "order_on_hold"
    _nothing_written(before)


def test_serial_units_get_their_material_first_in_first_out_by_bom_quantity(
    site, plant, supervisor, operator
):
    sub_a = receive(plant.sub, site, 1, supervisor, code="SUB-A")
    sub_b = receive(plant.sub, site, 5, supervisor, code="SUB-B")
    seals = receive(plant.seal, site, 100, supervisor, code="SEALS")
    _order, (op,) = running_order(plant.fg, supervisor, operator, quantity=5, site=site)
    consume(op, operator, "SUB-A", 1)
    consume(op, operator, "SUB-B", 2)
    seal_event = consume(op, operator, "SEALS", 5).event
    assert not GenealogyLink.objects.exists()  # allocated as units complete
    good(op, operator, 2)
    good(op, operator, 1)
    serials = list(Lot.objects.filter(kind="serial").order_by("code"))
    links = {
        (link.parent.code, link.child.code): link.quantity
        for link in GenealogyLink.objects.select_related("parent", "child")
    }
    assert links == {
        ("SUB-A", serials[0].code): 1,
        ("SEALS", serials[0].code): 2,
        ("SUB-B", serials[1].code): 1,
        ("SEALS", serials[1].code): 2,
        ("SUB-B", serials[2].code): 1,
        ("SEALS", serials[2].code): 1,  # only 5 seals were consumed: the third unit gets what is left
    }
    assert GenealogyLink.objects.filter(parent=seals).values_list("event_id", flat=True).distinct().get() == (
        seal_event.pk
    )
    allocated = dict(Consumption.objects.values_list("lot__code", "quantity_allocated"))
    assert allocated == {"SUB-A": 1, "SUB-B": 2, "SEALS": 5}
    assert sub_a.pk and sub_b.pk
    # The rebuild computes the same allocations.
    Consumption.objects.update(quantity_allocated=0)
    services.rebuild_projections()
    assert dict(Consumption.objects.values_list("lot__code", "quantity_allocated")) == allocated


def test_untracked_output_records_consumption_without_links(site, plant, supervisor, operator):
    from workorders.models import BomLine
    from workorders.tests.factories import ProductFactory

    box = ProductFactory(part_number="BOX")
    services.master_data_save(
        instance=BomLine(product=box, component=plant.seal, quantity=1), user=supervisor, reason="test"
    )
    seals = receive(plant.seal, site, 10, supervisor)
    _order, (op,) = running_order(box, supervisor, operator, site=site)
    consume(op, operator, seals.code, 3)
    good(op, operator, 3)
    assert Consumption.objects.count() == 1
    assert not GenealogyLink.objects.exists() and not Lot.objects.filter(product=box).exists()


def test_a_link_into_an_ancestor_is_refused(site, plant, supervisor, operator):
    raw = receive(plant.raw, site, 100, supervisor)
    order, (op,) = running_order(plant.sub, supervisor, operator, site=site)
    event = consume(op, operator, raw.code, 10).event
    good(op, operator, 2)
    sub_lot = Lot.objects.get(work_order=order)
    fg_order, (fg_op,) = running_order(plant.fg, supervisor, operator, site=site)
    consume(fg_op, operator, sub_lot.code, 1)
    good(fg_op, operator, 1)
    serial = Lot.objects.get(work_order=fg_order)
    # raw -> sub -> serial; forcing serial -> raw (or sub -> raw) would close a circle.
    for parent, child in ((serial, raw), (sub_lot, raw), (raw, raw)):
        with pytest.raises(Conflict) as refused:
            services.genealogy_link(
                parent=parent, child=child, quantity=Decimal(1), event=event, user=operator
            )
        assert refused.value.code == "genealogy_cycle"
    assert GenealogyLink.objects.count() == 2


@pytest.mark.requirement("MES-003")
def test_genealogy_stays_acyclic_under_random_link_attempts(site, plant, supervisor, operator):
    """Whatever links are attempted, the ones accepted never close a circle."""
    raw = receive(plant.raw, site, 1000, supervisor)
    _order, (op,) = running_order(plant.sub, supervisor, operator, site=site)
    event = consume(op, operator, raw.code, 1).event
    lots = [receive(plant.raw, site, 1, supervisor, code=f"N{i}") for i in range(12)]
    rng = random.Random(5)
    edges: set[tuple[int, int]] = set()
    for _ in range(80):
        parent, child = rng.sample(lots, 2)
        try:
            with transaction.atomic():
                services.genealogy_link(
                    parent=parent, child=child, quantity=Decimal(1), event=event, user=operator
                )
        except (MesError, IntegrityError):  # a circle; or the same edge twice (unique constraint)
            continue
        edges.add((parent.pk, child.pk))
    assert edges
    for lot in lots:
        assert lot.pk not in _ancestors_among(lot.pk, {lot.pk})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    actions=st.lists(
        st.tuples(st.sampled_from(["consume", "good", "retry"]), st.integers(0, 1), st.integers(1, 4)),
        min_size=1,
        max_size=20,
    )
)
def test_lot_counters_rebuilt_from_the_ledger_equal_the_live_ones(site, supervisor, operator, actions):
    """Whatever mix of consumptions, completions and retries: rebuilt lot counters and serial
    allocations equal the live ones, and nothing is ever an ancestor of itself."""
    # Hypothesis runs many examples in one test transaction: each gets a savepoint, rolled back.
    with transaction.atomic():
        plant = products(supervisor)
        raws = [receive(plant.raw, site, 30, supervisor) for _ in range(2)]
        seals = receive(plant.seal, site, 30, supervisor)
        _sub_order, (sub_op,) = running_order(plant.sub, supervisor, operator, quantity=20, site=site)
        _fg_order, (fg_op,) = running_order(plant.fg, supervisor, operator, quantity=20, site=site)
        last = None
        for name, which, qty in actions:
            try:
                if name == "consume" and which == 0:
                    consume(sub_op, operator, raws[qty % 2].code, qty * 2)
                elif name == "consume":
                    last = (seals.code, qty, key())
                    consume(fg_op, operator, seals.code, qty, k=last[2])
                elif name == "good":
                    good(sub_op if which == 0 else fg_op, operator, qty)
                elif name == "retry" and last:
                    consume(fg_op, operator, last[0], last[1], k=last[2])
            except MesError:
                pass
        fields = ["code", "quantity", "quantity_consumed", "status"]
        live = (
            list(Lot.objects.order_by("pk").values(*fields)),
            list(Consumption.objects.order_by("pk").values_list("quantity_allocated", flat=True)),
        )
        Lot.objects.update(quantity_consumed=0)
        Lot.objects.filter(work_order__isnull=False).update(quantity=0)
        Consumption.objects.update(quantity_allocated=0)
        services.rebuild_projections()
        assert (
            list(Lot.objects.order_by("pk").values(*fields)),
            list(Consumption.objects.order_by("pk").values_list("quantity_allocated", flat=True)),
        ) == live
        for lot_id in Lot.objects.values_list("pk", flat=True):
            assert lot_id not in _ancestors_among(lot_id, {lot_id})
        transaction.set_rollback(True)
