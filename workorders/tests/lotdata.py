"""Test data for lots and genealogy: a raw material, a lot-tracked sub-assembly made from it and a
serial-tracked product made from the sub-assembly and seals, with received lots."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mes.tests.factories import WorkstationFactory
from workorders import services
from workorders.models import BomLine, Lot, Product, WorkOrder, WorkOrderOperation
from workorders.states import Tracking
from workorders.tests.factories import ProductFactory, key, released_order, routing_with


@dataclass
class Plant:
    raw: Product
    seal: Product
    sub: Product
    fg: Product
    other: Product


def products(user) -> Plant:
    raw = ProductFactory(part_number="RAW-1", unit="kg", tracking=Tracking.LOT)
    seal = ProductFactory(part_number="SEAL-1", tracking=Tracking.LOT)
    sub = ProductFactory(part_number="SUB-1", tracking=Tracking.LOT, number_prefix="S", number_date="")
    fg = ProductFactory(
        part_number="FG-1",
        tracking=Tracking.SERIAL,
        gtin="09501101530003",
        number_prefix="FG",
        number_date="",
    )
    other = ProductFactory(part_number="OTHER-1", tracking=Tracking.LOT)
    for product, component, quantity in (
        (sub, raw, "2.5"),
        (fg, sub, "1"),
        (fg, seal, "2"),
    ):
        services.master_data_save(
            instance=BomLine(product=product, component=component, quantity=Decimal(quantity)),
            user=user,
            reason="test",
        )
    return Plant(raw, seal, sub, fg, other)


def receive(product, site, quantity, user, code="") -> Lot:
    return services.lot_receive(
        product=product,
        site=site,
        quantity=quantity,
        user=user,
        code=code,
        supplier="ACME",
        supplier_lot="A1",
    )


def running_order(product, user, operator, *, quantity=10, stations=1, site=None) -> tuple[WorkOrder, list]:
    """A released order of `product` whose operations are all started."""
    first = WorkstationFactory(line__site=site) if site else WorkstationFactory()
    workstations = [first, *[WorkstationFactory(line=first.line) for _ in range(stations - 1)]]
    order = released_order(user=user, routing=routing_with(workstations, product=product), quantity=quantity)
    ops = list(order.operations.order_by("sequence"))
    for op in ops:
        services.operation_start(operation_id=op.pk, workstation=op.workstation, user=operator, key=key())
    return order, ops


def consume(op: WorkOrderOperation, user, lot_code, quantity=None, k=None):
    return services.operation_consume(
        operation_id=op.pk,
        workstation=op.workstation,
        user=user,
        lot_code=lot_code,
        quantity=quantity,
        key=k or key(),
    )


def good(op: WorkOrderOperation, user, quantity, k=None):
    return services.operation_record_good(
        operation_id=op.pk, workstation=op.workstation, user=user, quantity=quantity, key=k or key()
    )
