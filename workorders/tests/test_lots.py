"""Lots and serial units: numbering, the lots completions make, received lots, rebuild, GS1."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from mes.errors import Conflict, ValidationFailed
from mes.models import Shift
from workorders import gs1, services
from workorders.models import BomLine, Lot, NumberSequence, ProductionEvent
from workorders.states import LotKind, LotScope, LotStatus, Tracking
from workorders.tests.factories import ProductFactory, key
from workorders.tests.lotdata import consume, good, products, receive, running_order

pytestmark = pytest.mark.django_db


# --- numbering ---------------------------------------------------------------------------------


def test_numbers_are_prefix_local_date_and_padded_sequence(site):
    product = ProductFactory(part_number="HSG-10", tracking=Tracking.LOT, number_digits=4)
    # 23:30 UTC on 1 March is already 2 March in Berlin: the date part is the site's.
    at = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert services.numbers_allocate(product=product, site=site, count=3, at=at) == [
        "HSG-102603020001",
        "HSG-102603020002",
        "HSG-102603020003",
    ]
    assert services.numbers_allocate(product=product, site=site, count=1, at=at) == ["HSG-102603020004"]


def test_sequence_restarts_each_date_period_and_prefix_replaces_part_number(site):
    product = ProductFactory(part_number="X", number_prefix="L", number_date="%Y%m%d", number_digits=3)
    day1 = datetime(2026, 5, 4, 10, tzinfo=UTC)
    services.numbers_allocate(product=product, site=site, count=2, at=day1)
    assert services.numbers_allocate(product=product, site=site, count=1, at=day1 + timedelta(days=1)) == [
        "L20260505001"
    ]
    assert NumberSequence.objects.filter(product=product).count() == 2


def test_numbers_skip_codes_a_lot_already_has(site, supervisor):
    product = ProductFactory(part_number="R", tracking=Tracking.LOT, number_prefix="R", number_date="")
    receive(product, site, 5, supervisor, code="R00002")
    assert services.numbers_allocate(product=product, site=site, count=2) == ["R00001", "R00003"]


def test_running_out_of_digits_is_refused_clearly(site):
    product = ProductFactory(part_number="Q", number_prefix="Q", number_date="", number_digits=3)
    services.numbers_allocate(product=product, site=site, count=998)
    with pytest.raises(Conflict) as refused:
        services.numbers_allocate(product=product, site=site, count=2)
    assert refused.value.field == "number_digits"
    assert "used up" in refused.value.message
    assert services.numbers_allocate(product=product, site=site, count=1) == ["Q999"]


# --- lots made by completions ------------------------------------------------------------------


def test_serial_product_gets_one_serial_per_unit_at_the_last_operation_only(site, supervisor, operator):
    plant = products(supervisor)
    order, (first, last) = running_order(plant.fg, supervisor, operator, stations=2, site=site)
    good(first, operator, 3)
    assert not Lot.objects.exists()
    recorded = good(last, operator, 3)
    serials = list(Lot.objects.filter(work_order=order).order_by("code"))
    assert [s.code for s in serials] == ["FG00001", "FG00002", "FG00003"]
    assert {(s.kind, s.quantity, s.created_event_id, s.site_id) for s in serials} == {
        (LotKind.SERIAL, Decimal(1), recorded.event.pk, site.pk)
    }
    assert recorded.event.data["serials"] == ["FG00001", "FG00002", "FG00003"]
    assert serials[0].history.first().history_user == operator


def test_replayed_completion_makes_no_more_serials(site, supervisor, operator):
    plant = products(supervisor)
    order, (op,) = running_order(plant.fg, supervisor, operator, site=site)
    k = key()
    good(op, operator, 2, k=k)
    again = good(op, operator, 2, k=k)
    assert again.replayed
    assert Lot.objects.filter(work_order=order).count() == 2


def test_serials_need_whole_units(site, supervisor, operator):
    fg = ProductFactory(part_number="KG-SERIAL", unit="kg", tracking=Tracking.SERIAL)
    _order, (op,) = running_order(fg, supervisor, operator, site=site)
    with pytest.raises(ValidationFailed) as refused:
        good(op, operator, "1.5")
    assert refused.value.field == "quantity"
    assert not Lot.objects.exists() and not ProductionEvent.objects.filter(kind="complete").exists()


def test_lot_product_adds_completions_to_one_lot_per_order(site, supervisor, operator):
    plant = products(supervisor)
    order, (op,) = running_order(plant.sub, supervisor, operator, site=site)
    first = good(op, operator, 2)
    good(op, operator, 3)
    lot = Lot.objects.get(work_order=order)
    assert (lot.code, lot.kind, lot.quantity, lot.created_event_id) == ("S00001", "lot", 5, first.event.pk)
    assert first.event.data["lot"] == "S00001"


def test_lot_per_shift_starts_a_new_lot_each_shift(site, supervisor, operator):
    Shift.objects.create(site=site, name="Day", start_time=time(0), end_time=time(12), weekdays="1234567")
    Shift.objects.create(site=site, name="Night", start_time=time(12), end_time=time(0), weekdays="1234567")
    plant = products(supervisor)
    plant.sub.lot_scope = LotScope.SHIFT
    plant.sub.save()
    order, (op,) = running_order(plant.sub, supervisor, operator, site=site)
    now = timezone.now()
    for at in (now - timedelta(hours=13), now - timedelta(hours=13, minutes=-1), now):
        services.operation_record_good(
            operation_id=op.pk,
            workstation=op.workstation,
            user=operator,
            quantity=1,
            key=key(),
            occurred_at=at,
        )
    lots = list(Lot.objects.filter(work_order=order).order_by("shift_start"))
    assert [lot.quantity for lot in lots] == [2, 1]
    assert lots[0].shift_start < lots[1].shift_start


def test_untracked_product_makes_no_lots(site, supervisor, operator):
    product = ProductFactory(tracking=Tracking.NONE)
    _order, (op,) = running_order(product, supervisor, operator, site=site)
    good(op, operator, 4)
    assert not Lot.objects.exists()


def test_rebuild_recomputes_lot_counters_from_the_ledger(site, supervisor, operator):
    plant = products(supervisor)
    raw = receive(plant.raw, site, 100, supervisor)
    order, (op,) = running_order(plant.sub, supervisor, operator, site=site)
    consume(op, operator, raw.code, 10)
    good(op, operator, 4)
    _fg_order, (fg_op,) = running_order(plant.fg, supervisor, operator, site=site)
    sub_lot = Lot.objects.get(work_order=order)
    consume(fg_op, operator, sub_lot.code, 4)
    good(fg_op, operator, 2)
    fields = ["code", "quantity", "quantity_consumed", "status"]
    live = list(Lot.objects.order_by("pk").values(*fields))
    Lot.objects.update(quantity_consumed=0)
    Lot.objects.filter(work_order__isnull=False).update(quantity=0)
    services.rebuild_projections()
    assert list(Lot.objects.order_by("pk").values(*fields)) == live
    assert Lot.objects.get(pk=sub_lot.pk).status == LotStatus.CONSUMED


# --- received lots -----------------------------------------------------------------------------


def test_receiving_a_lot_numbers_it_and_records_who_and_why(site, supervisor):
    plant = products(supervisor)
    lot = services.lot_receive(
        product=plant.raw,
        site=site,
        quantity="250.5",
        user=supervisor,
        supplier="Alu AG",
        supplier_lot="AL-778",
        reason="Delivery note 4711",
    )
    assert lot.code.startswith("RAW-1") and lot.quantity == Decimal("250.5")
    assert (lot.supplier, lot.supplier_lot, lot.work_order) == ("Alu AG", "AL-778", None)
    history = lot.history.first()
    assert (history.history_user, history.history_change_reason) == (supervisor, "Delivery note 4711")


@pytest.mark.parametrize(
    ("part", "quantity", "code", "field"),
    [("OTHER-1", "0", "", "quantity"), ("OTHER-1", "x", "", "quantity"), ("FG-1", "2", "", "quantity")],
)
def test_receiving_bad_input_is_refused(site, supervisor, part, quantity, code, field):
    products(supervisor)
    with pytest.raises(ValidationFailed) as refused:
        services.lot_receive(
            product=ProductFactory(part_number=part), site=site, quantity=quantity, user=supervisor, code=code
        )
    assert refused.value.field == field
    assert not Lot.objects.exists()


def test_receiving_an_untracked_product_or_a_used_code_is_refused(site, supervisor):
    plant = products(supervisor)
    with pytest.raises(ValidationFailed):
        receive(ProductFactory(tracking=Tracking.NONE), site, 1, supervisor)
    receive(plant.raw, site, 1, supervisor, code="L1")
    with pytest.raises(Conflict) as refused:
        receive(plant.seal, site, 1, supervisor, code="L1")
    assert refused.value.field == "code"


# --- BOMs stay acyclic -------------------------------------------------------------------------


def test_a_bom_cycle_is_refused_at_any_depth(supervisor):
    plant = products(supervisor)
    # FG contains SUB contains RAW: RAW may not contain FG (nor SUB).
    for product in (plant.fg, plant.sub):
        with pytest.raises(ValidationFailed) as refused:
            services.master_data_save(
                instance=BomLine(product=plant.raw, component=product, quantity=1),
                user=supervisor,
                reason="test",
            )
        assert refused.value.code == "bom_cycle"
        assert refused.value.field == "component"
    assert not BomLine.objects.filter(product=plant.raw).exists()
    # An unrelated component is fine.
    services.master_data_save(
        instance=BomLine(product=plant.raw, component=plant.other, quantity=1), user=supervisor, reason="test"
    )


def test_the_erp_bom_upsert_refuses_a_cycle(supervisor):
    from integration.services.inbound import inbound_apply

    plant = products(supervisor)
    data = {"lines": [{"component": plant.fg.part_number, "quantity": "1"}]}
    result = inbound_apply(kind="bom", key=plant.raw.part_number, data=data, user=supervisor)
    assert (result.ok, result.code) == (False, "bom_cycle")
    assert list(result.errors) == ["lines[0].component"]
    assert not BomLine.objects.filter(product=plant.raw).exists()


# --- GS1 ---------------------------------------------------------------------------------------


def test_element_string_of_a_serial_and_of_a_lot(site, supervisor, operator):
    plant = products(supervisor)
    order, (op,) = running_order(plant.fg, supervisor, operator, site=site)
    good(op, operator, 1, k=key())
    serial = Lot.objects.get(work_order=order)
    Lot.objects.filter(pk=serial.pk).update(produced_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    serial.refresh_from_db()
    # The production date is the site's local date (2 March in Berlin).
    assert gs1.element_string(serial) == "(01)09501101530003(11)260302(21)FG00001"
    assert gs1.element_string(serial, raw=True) == gs1.FNC1 + "0109501101530003" + "11260302" + "21FG00001"
    plant.sub.gtin = "4006381333931"  # a GTIN-13 is padded to 14 digits
    plant.sub.save()
    lot = receive(plant.sub, site, 5, supervisor, code="LOT-7")
    lot.produced_at = datetime(2026, 12, 24, 8, tzinfo=UTC)
    assert gs1.element_string(lot) == "(01)04006381333931(11)261224(10)LOT-7"


def test_element_string_needs_a_gtin_and_an_encodable_code(site, supervisor):
    plant = products(supervisor)
    lot = receive(plant.raw, site, 5, supervisor, code="NO-GTIN")
    with pytest.raises(ValidationFailed):
        gs1.element_string(lot)
    lot.product = plant.fg
    lot.code = "X" * 21
    with pytest.raises(ValidationFailed):
        gs1.element_string(lot)


@pytest.mark.parametrize(
    ("scanned", "code"),
    [
        ("LOT-7", "LOT-7"),
        ("  LOT-7 ", "LOT-7"),
        ("(01)09501101530003(11)260302(21)FG00001", "FG00001"),
        ("]d20109501101530003112603022 1FG00001".replace(" ", ""), "FG00001"),
        ("0109501101530003" + "10AB12\x1d" + "11260302", "AB12"),
        ("\x1d0109501101530003" + "10AB12", "AB12"),
    ],
)
def test_scans_are_read_as_lot_or_serial_codes(scanned, code):
    assert gs1.code_from_scan(scanned) == code


# --- append-only on PostgreSQL -----------------------------------------------------------------


@pytest.mark.postgres
def test_genealogy_links_cannot_be_changed_or_deleted_on_postgresql(site, supervisor, operator):
    from django.db import DatabaseError, transaction

    from workorders.models import Consumption, GenealogyLink

    plant = products(supervisor)
    raw = receive(plant.raw, site, 100, supervisor)
    _order, (op,) = running_order(plant.sub, supervisor, operator, site=site)
    consume(op, operator, raw.code, 10)
    for statement in (
        "UPDATE workorders_genealogylink SET quantity = 1",
        "DELETE FROM workorders_genealogylink",
        "UPDATE workorders_consumption SET quantity = 1",
        "DELETE FROM workorders_consumption",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    Consumption.objects.update(quantity_allocated=3)  # the allocation counter may move
    assert GenealogyLink.objects.get().quantity == 10


@pytest.mark.parametrize("gtin", ["²" * 13, "٤٠٠٦٣٨١٣٣٣٩٣١", "4006381333931x"])
def test_a_gtin_of_other_than_ascii_digits_is_refused_with_its_reason(gtin):
    with pytest.raises(ValidationError) as refused:
        gs1.validate_gtin(gtin)
    assert refused.value.code == "gtin_format"
