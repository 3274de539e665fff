"""Test data for traces: lots, serials, genealogy links and the ledger events that made them,
written straight to the models so trace tests need not drive the production services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType

from mes.models import Site, User, Workstation
from mes.signatures import Meaning, Method, Signature, content_hash
from mes.tests.factories import WorkstationFactory
from quality.models import (
    ChecklistItem,
    ChecklistResponse,
    ChecklistRun,
    ChecklistTemplate,
    ChecklistTemplateVersion,
)
from quality.states import ItemKind, RunStatus, VersionStatus
from workorders.gs1 import gs1_check_digit
from workorders.models import (
    BomLine,
    GenealogyLink,
    Lot,
    Product,
    ProductionEvent,
    WorkOrder,
    WorkOrderOperation,
)
from workorders.states import EventKind, LotKind, OperationStatus, Tracking, WorkOrderStatus
from workorders.tests.factories import ProductFactory, RoutingFactory

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def gtin(body: str) -> str:
    return body + str(gs1_check_digit(body))


def event(*, kind: str, user: User, order: WorkOrder | None = None, operation=None, quantity=None, at=None):
    return ProductionEvent.objects.create(
        kind=kind,
        idempotency_key=uuid.uuid4(),
        request_fingerprint="test",
        work_order=order,
        operation=operation,
        workstation=operation.workstation if operation is not None else None,
        line=order.line if order is not None else None,
        user=user,
        quantity=quantity,
        occurred_at=at or T0,
    )


def order(*, product: Product, workstation: Workstation, user: User, number: str, quantity=10, at=None):
    """A completed order with one operation, started and completed by `user` in the ledger."""
    at = at or T0
    routing = RoutingFactory(product=product)
    wo = WorkOrder.objects.create(
        number=number,
        product=product,
        routing=routing,
        line=workstation.line,
        quantity=Decimal(quantity),
        status=WorkOrderStatus.COMPLETED,
        quantity_good=Decimal(quantity),
        started_at=at,
        completed_at=at + timedelta(hours=1),
    )
    op = WorkOrderOperation.objects.create(
        work_order=wo,
        sequence=10,
        name="Assemble",
        workstation=workstation,
        ideal_cycle_seconds=Decimal("30"),
        status=OperationStatus.DONE,
        quantity_good=Decimal(quantity),
        started_at=at,
    )
    event(kind=EventKind.START, user=user, order=wo, operation=op, at=at)
    event(kind=EventKind.GOOD, user=user, order=wo, operation=op, quantity=Decimal(quantity),
          at=at + timedelta(minutes=50))  # fmt: skip
    return wo


def supplier_lot(*, code: str, product: Product, site: Site, quantity=100, at=None) -> Lot:
    return Lot.objects.create(
        code=code,
        kind=LotKind.LOT,
        product=product,
        site=site,
        quantity=Decimal(quantity),
        supplier="Acme Steel",
        supplier_lot=f"ACME-{code}",
        produced_at=at or T0 - timedelta(days=3),
    )


def made_lot(*, code: str, wo: WorkOrder, user: User, kind=LotKind.LOT, quantity=None, at=None) -> Lot:
    op = wo.operations.order_by("-sequence").first()
    made = event(kind=EventKind.GOOD, user=user, order=wo, operation=op,
                 quantity=Decimal(quantity or 1), at=at or T0 + timedelta(minutes=30))  # fmt: skip
    return Lot.objects.create(
        code=code,
        kind=kind,
        product=wo.product,
        site=wo.line.site,
        work_order=wo,
        created_event=made,
        quantity=Decimal(1 if kind == LotKind.SERIAL else (quantity or wo.quantity)),
        produced_at=made.occurred_at,
    )


def link(parent: Lot, child: Lot, *, user: User, quantity=1) -> GenealogyLink:
    wo = child.work_order
    op = wo.operations.first() if wo is not None else None
    consume = event(kind=EventKind.CONSUME, user=user, order=wo, operation=op, quantity=Decimal(quantity))
    return GenealogyLink.objects.create(parent=parent, child=child, quantity=Decimal(quantity), event=consume)


@dataclass
class Genealogy:
    """Three levels: steel and screws → sub-assembly lots → finished serials.

    STEEL-1 ─► SUB-1 ─► SN-1, SN-2, SN-3          SCREW-1 ─► SUB-1, and straight into SN-1
    STEEL-2 ─► SUB-2 ─► SN-3, SN-4                (a diamond: SN-1 is reached on two paths)
    """

    site: Site
    workstation: Workstation
    user: User
    products: dict[str, Product]
    orders: dict[str, WorkOrder]
    lots: dict[str, Lot] = field(default_factory=dict)


def genealogy(*, site: Site, user: User) -> Genealogy:
    ws = WorkstationFactory(line__site=site, code="ASM1", name="Assembly 1")
    steel = ProductFactory(part_number="RAW-STEEL", name="Steel bar", tracking=Tracking.LOT, unit="kg")
    screw = ProductFactory(part_number="RAW-SCREW", name="Screw M4", tracking=Tracking.LOT)
    sub = ProductFactory(
        part_number="SUB-100", name="Housing", tracking=Tracking.LOT, gtin=gtin("0401234500010")
    )
    fin = ProductFactory(
        part_number="FIN-200", name="Gearbox", tracking=Tracking.SERIAL, gtin=gtin("0401234500020")
    )
    BomLine.objects.create(product=sub, component=steel, quantity=Decimal("2"))
    BomLine.objects.create(product=sub, component=screw, quantity=Decimal("4"))
    BomLine.objects.create(product=fin, component=sub, quantity=Decimal("1"))
    BomLine.objects.create(product=fin, component=screw, quantity=Decimal("2"))
    g = Genealogy(
        site=site,
        workstation=ws,
        user=user,
        products={"steel": steel, "screw": screw, "sub": sub, "fin": fin},
        orders={},
    )
    g.orders["sub1"] = order(product=sub, workstation=ws, user=user, number="WO-SUB-1")
    g.orders["sub2"] = order(product=sub, workstation=ws, user=user, number="WO-SUB-2")
    g.orders["fin"] = order(product=fin, workstation=ws, user=user, number="WO-FIN-1", quantity=4,
                            at=T0 + timedelta(hours=2))  # fmt: skip
    L = g.lots
    L["STEEL-1"] = supplier_lot(code="STEEL-1", product=steel, site=site)
    L["STEEL-2"] = supplier_lot(code="STEEL-2", product=steel, site=site)
    L["SCREW-1"] = supplier_lot(code="SCREW-1", product=screw, site=site, quantity=1000)
    L["SUB-1"] = made_lot(code="SUB-1", wo=g.orders["sub1"], user=user)
    L["SUB-2"] = made_lot(code="SUB-2", wo=g.orders["sub2"], user=user)
    for n in range(1, 5):
        L[f"SN-{n}"] = made_lot(code=f"SN-{n}", wo=g.orders["fin"], user=user, kind=LotKind.SERIAL,
                                at=T0 + timedelta(hours=2, minutes=10 * n))  # fmt: skip
    link(L["STEEL-1"], L["SUB-1"], user=user, quantity=20)
    link(L["SCREW-1"], L["SUB-1"], user=user, quantity=40)
    link(L["STEEL-2"], L["SUB-2"], user=user, quantity=20)
    for sn in ("SN-1", "SN-2", "SN-3"):
        link(L["SUB-1"], L[sn], user=user)
    for sn in ("SN-3", "SN-4"):
        link(L["SUB-2"], L[sn], user=user)
    link(L["SCREW-1"], L["SN-1"], user=user, quantity=2)
    return g


def checklist_run(g, wo):
    """A completed torque checklist run on `wo`'s first operation, with one in-spec reading."""
    template = ChecklistTemplate.objects.create(site=g.site, code="TORQUE", title="Torque check")
    version = ChecklistTemplateVersion.objects.create(
        template=template, version=1, status=VersionStatus.EFFECTIVE, created_by=g.user
    )
    item = ChecklistItem.objects.create(
        version=version, position=1, kind=ItemKind.NUMBER, prompt="Torque", unit="Nm",
        lsl=Decimal("4.5"), usl=Decimal("5.5"),
    )  # fmt: skip
    run = ChecklistRun.objects.create(
        version=version, template=template, workstation=g.workstation, work_order=wo,
        operation=wo.operations.first(), status=RunStatus.COMPLETED, started_by=g.user, started_at=T0,
        completed_by=g.user, completed_at=T0 + timedelta(minutes=5),
    )  # fmt: skip
    ChecklistResponse.objects.create(
        run=run, item=item, value_number=Decimal("5.1"), in_spec=True, recorded_by=g.user, recorded_at=T0,
    )  # fmt: skip
    return run


def signature(record, user, meaning=Meaning.PERFORMED):
    """A signature on `record`, written straight to the table (no re-authentication)."""
    return Signature.objects.create(
        content_type=ContentType.objects.get_for_model(record),
        object_id=str(record.pk),
        signer=user,
        printed_name=user.printed_name,
        meaning=meaning,
        method=Method.PASSWORD,
        signed_at=T0,
        content_hash=content_hash(record),
    )
