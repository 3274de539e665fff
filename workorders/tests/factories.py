"""Test data for production: products, routings, reason codes and released orders."""

import uuid
from decimal import Decimal

import factory

from mes.tests.factories import WorkstationFactory
from workorders import services
from workorders.models import Product, ReasonCode, Routing, RoutingOperation
from workorders.states import Loss, ReasonKind, Tracking


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ["part_number"]

    part_number = factory.Sequence(lambda n: f"P-{n:04d}")
    name = factory.LazyAttribute(lambda o: f"Part {o.part_number}")
    unit = "pcs"
    tracking = Tracking.NONE


class RoutingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Routing

    product = factory.SubFactory(ProductFactory)
    code = factory.Sequence(lambda n: f"R{n}")
    name = "Standard routing"


class RoutingOperationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingOperation

    routing = factory.SubFactory(RoutingFactory)
    sequence = factory.Sequence(lambda n: (n + 1) * 10)
    name = factory.Sequence(lambda n: f"Operation {n}")
    workstation = factory.SubFactory(WorkstationFactory)
    ideal_cycle_seconds = Decimal("30")


class ReasonCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReasonCode
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"RC{n}")
    name = factory.LazyAttribute(lambda o: f"Reason {o.code}")
    kind = ReasonKind.SCRAP
    loss = ""


def reasons() -> dict[str, ReasonCode]:
    """One reason of each kind, by kind."""
    return {
        "scrap": ReasonCodeFactory(code="SCRATCH", name="Scratched surface", kind=ReasonKind.SCRAP),
        "pause": ReasonCodeFactory(code="BREAK", name="Break", kind=ReasonKind.PAUSE),
        "downtime": ReasonCodeFactory(code="JAM", name="Jam", kind=ReasonKind.DOWNTIME, loss=Loss.SMALL_STOP),
        "planned": ReasonCodeFactory(
            code="PM", name="Planned maintenance", kind=ReasonKind.DOWNTIME, loss=Loss.SETUP, planned=True
        ),
        "hold": ReasonCodeFactory(code="QHOLD", name="Quality hold", kind=ReasonKind.HOLD),
    }


def routing_with(workstations, *, allow_overlap=False, product=None, cycle=Decimal("30")) -> Routing:
    routing = RoutingFactory(product=product or ProductFactory(), allow_overlap=allow_overlap)
    for i, station in enumerate(workstations, start=1):
        RoutingOperationFactory(
            routing=routing, sequence=i * 10, name=f"Step {i}", workstation=station, ideal_cycle_seconds=cycle
        )
    return routing


def key() -> uuid.UUID:
    return uuid.uuid4()


def released_order(*, user, workstations=None, quantity=10, number=None, routing=None):
    """A released order over the given workstations (a fresh one if none)."""
    if routing is None:
        workstations = workstations or [WorkstationFactory()]
        routing = routing_with(workstations)
    line = routing.operations.first().workstation.line
    order = services.workorder_create(
        number=number or f"WO-{uuid.uuid4().hex[:8]}",
        product=routing.product,
        routing=routing,
        line=line,
        quantity=quantity,
        user=user,
    )
    services.workorder_transition(work_order_id=order.pk, target="released", user=user, key=key())
    order.refresh_from_db()
    return order
