"""The second site: a handful of orders and a few hours of taps, written straight away."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from mes.demo import SECOND_SITE
from mes.models import Site, User, Workstation
from workorders import services
from workorders.demo.data import ADMIN, CLOSE_NOTE, S
from workorders.demo.replay import transition
from workorders.models import BomLine, Product, ReasonCode, Routing, RoutingOperation, WorkOrder

SECOND_SUPERVISOR = "supervisor2"
SECOND_OPERATOR = "operator3"
SECOND_ROUTINGS = {  # (product, code): (name, [(sequence, name, workstation, setup s, cycle s)])
    ("SPK-100", "KIT1"): (
        "Service kit on bench 1: kit, bag and label",
        [(10, "Kit seals and carton", "KIT1", 120, 40), (20, "Bag and label kit", "BAG1", 60, 30)],
    ),
    ("SPK-100", "KIT2"): (
        "Service kit on bench 2: kit, bag and label",
        [(10, "Kit seals and carton", "KIT2", 120, 45), (20, "Bag and label kit", "BAG1", 60, 30)],
    ),
}
SECOND_RECEIPTS = [  # part, supplier, supplier lot, quantity
    ("SEAL-5", "SealTec s.r.o.", "ST-7760", "300"),
    ("PKG-1", "Kartonagen Mayer", "KM-0951", "200"),
]
# number, routing, quantity, where the demo leaves it, due in days
SECOND_ORDERS = [
    ("WO-26201", ("SPK-100", "KIT1"), 24, S.CLOSED, -0.5),
    ("WO-26202", ("SPK-100", "KIT2"), 60, S.IN_PROGRESS, 1),
    ("WO-26203", ("SPK-100", "KIT1"), 40, S.RELEASED, 2),
    ("WO-26204", ("SPK-100", "KIT2"), 50, S.DRAFT, 5),
]
# minutes before seeding, order, sequence, tap, quantity (scrap: its reason). Each workstation's
# taps are in time order, and the bagging station never counts more than kitting has made.
SECOND_TAPS = [
    (180, "WO-26201", 10, "start", 0),
    (179, "WO-26201", 10, "consume", 24),
    (165, "WO-26201", 10, "good", 8),
    (160, "WO-26201", 20, "start", 0),
    (150, "WO-26201", 10, "good", 8),
    (148, "WO-26201", 20, "good", 8),
    (140, "WO-26201", 10, "scrap", 1),
    (135, "WO-26201", 10, "good", 8),
    (132, "WO-26201", 20, "good", 8),
    (120, "WO-26201", 20, "good", 8),
    (110, "WO-26202", 10, "start", 0),
    (109, "WO-26202", 10, "consume", 20),
    (100, "WO-26202", 20, "start", 0),
    (95, "WO-26202", 10, "good", 10),
    (80, "WO-26202", 10, "good", 10),
    (75, "WO-26202", 20, "good", 10),
    (62, "WO-26202", 10, "scrap", 1),
    (50, "WO-26202", 10, "good", 8),
    (45, "WO-26202", 20, "good", 10),
]
SECOND_SCRAP_REASON = "MISSING-PART"


def _second_routings(admin: User) -> dict[tuple[str, str], Routing]:
    stations = {ws.code: ws for ws in Workstation.objects.filter(line__site__code=SECOND_SITE)}
    routings = {}
    for (part, code), (name, steps) in SECOND_ROUTINGS.items():
        product = Product.objects.get(part_number=part)
        routing = Routing.objects.filter(product=product, code=code).first()
        if routing is None:
            routing = services.master_data_save(
                instance=Routing(product=product, code=code, name=name), user=admin, reason="Demo plant"
            )
            for sequence, step, station, setup, cycle in steps:
                services.master_data_save(
                    instance=RoutingOperation(
                        routing=routing,
                        sequence=sequence,
                        name=step,
                        workstation=stations[station],
                        setup_seconds=setup,
                        ideal_cycle_seconds=Decimal(cycle),
                    ),
                    user=admin,
                    reason="Demo plant",
                )
        routings[(part, code)] = routing
    return routings


@transaction.atomic
def seed_second_site(say: Callable[[str], None]) -> None:
    """The second site's orders and the last three hours of its bench, through the services: its
    own supervisor creates, releases and closes the orders and receives its stock, its own
    operator taps. A few dozen calls, so seeding stays quick."""
    site = Site.objects.filter(code=SECOND_SITE).first()
    people = {
        u.username: u for u in User.objects.filter(username__in=[ADMIN, SECOND_SUPERVISOR, SECOND_OPERATOR])
    }
    if site is None or len(people) < 3:
        return
    routings = _second_routings(people[ADMIN])
    if WorkOrder.objects.filter(number__in=[number for number, *_ in SECOND_ORDERS]).exists():
        say(f"{SECOND_SITE} work orders exist: left as they are")
        return
    supervisor, operator = people[SECOND_SUPERVISOR], people[SECOND_OPERATOR]
    now = timezone.now()
    stock = {
        part: services.lot_receive(
            product=Product.objects.get(part_number=part),
            site=site,
            quantity=quantity,
            user=supervisor,
            supplier=supplier,
            supplier_lot=supplier_lot,
            reason="Goods receipt",
            received_at=now - timedelta(hours=4),
        )
        for part, supplier, supplier_lot, quantity in SECOND_RECEIPTS
    }
    orders: dict[str, WorkOrder] = {}
    for number, key, quantity, status, due_days in SECOND_ORDERS:
        routing = routings[key]
        first = routing.operations.order_by("sequence").select_related("workstation__line").first()
        orders[number] = order = services.workorder_create(
            number=number,
            product=routing.product,
            routing=routing,
            line=first.workstation.line,
            quantity=quantity,
            user=supervisor,
            due=(now + timedelta(days=due_days)).replace(minute=0, second=0, microsecond=0),
        )
        if status != S.DRAFT:
            transition(order, S.RELEASED, supervisor)
    scrap = ReasonCode.objects.get(code=SECOND_SCRAP_REASON)
    for minutes, number, sequence, tap, quantity in SECOND_TAPS:
        operation = orders[number].operations.select_related("workstation").get(sequence=sequence)
        common = {
            "operation_id": operation.pk,
            "workstation": operation.workstation,
            "user": operator,
            "key": uuid.uuid4(),
            "occurred_at": now - timedelta(minutes=minutes),
        }
        if tap == "start":
            services.operation_start(**common)
        elif tap == "consume":  # components for `quantity` kits, scanned at the bench
            for line in BomLine.objects.filter(product=orders[number].product).select_related("component"):
                lot = stock[line.component.part_number]
                services.operation_consume(lot_code=lot.code, quantity=line.quantity * quantity, **common)
                common["key"] = uuid.uuid4()
        elif tap == "good":
            services.operation_record_good(quantity=quantity, **common)
        else:
            services.operation_record_scrap(
                quantity=quantity, reason=scrap, note="Seal missing from kit", **common
            )
    for number, _, _, status, _ in SECOND_ORDERS:
        order = WorkOrder.objects.get(number=number)
        if status == S.CLOSED and order.status == S.COMPLETED:
            transition(order, S.CLOSED, supervisor, reason=CLOSE_NOTE)
    say(f"{SECOND_SITE}: {len(SECOND_ORDERS)} work orders, {len(SECOND_TAPS)} taps")
