"""The orders and their history, written through the same services a tablet and a supervisor use.

The orders are created, released, held, closed and cancelled by the demo supervisor, and the
operators' taps that `simulator.plan_history` planned (start, good and scrap counts, pauses,
downtime) are replayed with the times they were made. The services accept taps up to a day old
(`workorders.services.events.MAX_BACKDATE`), so the history covers the last
`simulator.HISTORY_HOURS` hours only. Order status changes can't be backdated: releases, holds,
closes and cancellations carry the time of seeding.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from mes.demo import DEMO_SITE
from mes.models import Site, User, Workstation
from workorders import services
from workorders.demo.data import (
    CANCELS,
    CLOSE_NOTE,
    HOLDS,
    OPERATORS,
    ORDERS,
    RECEIPTS,
    SEED,
    SUPERVISOR,
    S,
)
from workorders.demo.master import seed_master_data
from workorders.demo.simulator import HISTORY_HOURS, Action, Plan, plan_history
from workorders.models import BomLine, Lot, Product, ReasonCode, WorkOrder
from workorders.states import LotStatus

# Material is scanned in boxes: enough for this many units of the order at a time.
CONSUME_UNITS_AHEAD = 10


def transition(order: WorkOrder, target: str, user: User, **kw) -> None:
    services.workorder_transition(work_order_id=order.pk, target=target, user=user, key=uuid.uuid4(), **kw)


def _receive_stock(site: Site, at: datetime) -> None:
    """The supplier lots (and earlier-made parts) in stores when the history starts."""
    clerk = User.objects.get(username=SUPERVISOR)
    for part, supplier, supplier_lot, quantity in RECEIPTS:
        services.lot_receive(
            product=Product.objects.get(part_number=part),
            site=site,
            quantity=quantity,
            user=clerk,
            supplier=supplier,
            supplier_lot=supplier_lot,
            reason="Goods receipt" if supplier else "Opening stock",
            received_at=at,
        )


class _Material:
    """Scans the components of an order's first operation as its units are counted: a box (for
    `CONSUME_UNITS_AHEAD` units) at a time, from the lots made on the floor first (so finished
    pumps trace back through housings and shafts to the bar stock), then from stores."""

    def __init__(self, orders: dict[str, WorkOrder]):
        self.orders = orders
        self.counted: dict[str, int] = {}
        self.covered: dict[str, int] = {}
        self.bom: dict[int, list[BomLine]] = {}
        for line in BomLine.objects.filter(
            product__in={o.product_id for o in orders.values()}
        ).select_related("component"):
            self.bom.setdefault(line.product_id, []).append(line)

    def before_count(self, a: Action, common: dict, first_sequence: int) -> None:
        order = self.orders[a.order]
        lines = self.bom.get(order.product_id)
        if a.sequence != first_sequence or not lines:
            return
        counted = self.counted[a.order] = self.counted.get(a.order, 0) + a.quantity
        covered = self.covered.get(a.order, 0)
        while covered < counted:
            units = max(counted - covered, min(CONSUME_UNITS_AHEAD, int(order.quantity) - covered))
            for line in lines:
                self._take(line.component, line.quantity * units, common)
            covered += units
        self.covered[a.order] = covered

    @staticmethod
    def _take(component: Product, need: Decimal, common: dict) -> None:
        lots = Lot.objects.filter(
            product=component, status=LotStatus.AVAILABLE, site=common["workstation"].line.site_id
        ).order_by(F("work_order").asc(nulls_last=True), "pk")
        for lot in lots:
            if need <= 0:
                return
            take = min(need, lot.quantity_left)
            if take <= 0:
                continue
            services.operation_consume(lot_code=lot.code, quantity=take, **{**common, "key": uuid.uuid4()})
            need -= take


def _replay(plan: Plan, orders: dict[str, WorkOrder]) -> int:
    users = {u.username: u for u in User.objects.filter(username__in=[*OPERATORS, SUPERVISOR])}
    stations = {ws.code: ws for ws in Workstation.objects.filter(line__site__code=DEMO_SITE)}
    reasons = {r.code: r for r in ReasonCode.objects.all()}
    operations = {
        (order.number, op.sequence): op.pk for order in orders.values() for op in order.operations.all()
    }
    first_sequence = {
        order.number: min((op.sequence for op in order.operations.all()), default=0)
        for order in orders.values()
    }
    material = _Material(orders)
    for a in plan.actions:
        common = {
            "workstation": stations[a.station],
            "user": users[a.user],
            "key": uuid.uuid4(),
            "occurred_at": plan.start + timedelta(seconds=round(a.at, 3)),
        }
        if a.kind in ("downtime_start", "downtime_end"):
            if a.kind == "downtime_start":
                services.downtime_start(reason=reasons[a.reason], note=a.note, **common)
            else:
                services.downtime_end(**common)
            continue
        common["operation_id"] = operations[(a.order, a.sequence)]
        if a.kind == "start":
            services.operation_start(**common)
        elif a.kind == "resume":
            services.operation_resume(**common)
        elif a.kind == "pause":
            services.operation_pause(reason=reasons[a.reason], note=a.note, **common)
        elif a.kind == "good":
            material.before_count(a, common, first_sequence[a.order])
            override = users[SUPERVISOR] if a.override else None
            services.operation_record_good(quantity=a.quantity, override_by=override, **common)
        elif a.kind == "scrap":
            services.operation_record_scrap(
                quantity=a.quantity, reason=reasons[a.reason], note=a.note, **common
            )
        else:  # pragma: no cover
            raise ValueError(a.kind)
    return len(plan.actions)


@transaction.atomic
def seed_production(say: Callable[[str], None]) -> None:
    routings = seed_master_data(say)
    if WorkOrder.objects.filter(number__in=[o.number for o in ORDERS]).exists():
        say("work orders exist: history left as it is")
        return
    rng = random.Random(SEED)
    site = Site.objects.get(code=DEMO_SITE)
    supervisor = User.objects.get(username=SUPERVISOR)
    now = timezone.now()
    plan = plan_history(site, now, rng)
    if plan.overtime:
        say(f"no regular shift in the last {HISTORY_HOURS} h: the history runs as weekend overtime")
    _receive_stock(site, plan.start - timedelta(hours=2))
    orders: dict[str, WorkOrder] = {}
    for spec in ORDERS:
        routing = routings[(spec.product, spec.routing)]
        first = routing.operations.order_by("sequence").select_related("workstation").first()
        due = (now + timedelta(days=spec.due_days)).replace(minute=0, second=0, microsecond=0)
        order = services.workorder_create(
            number=spec.number,
            product=routing.product,
            routing=routing,
            line=first.workstation.line,
            quantity=plan.quantity_of(spec, rng),
            user=supervisor,
            due=due,
        )
        if spec.status != S.DRAFT and CANCELS.get(spec.number, ("", True))[1]:
            transition(order, S.RELEASED, supervisor)
        orders[spec.number] = order
    events = _replay(plan, orders)
    for spec in ORDERS:
        order = WorkOrder.objects.get(number=spec.number)
        if spec.number in HOLDS:
            reason_code, note, release = HOLDS[spec.number]
            transition(order, S.ON_HOLD, supervisor, reason=note, reason_code=reason_code)
            if release:
                services.workorder_release_hold(
                    work_order_id=order.pk, user=supervisor, key=uuid.uuid4(), reason=release
                )
        elif spec.number in CANCELS:
            transition(order, S.CANCELLED, supervisor, reason=CANCELS[spec.number][0])
        elif spec.status == S.CLOSED and order.status == S.COMPLETED:
            transition(order, S.CLOSED, supervisor, reason=CLOSE_NOTE)
    say(
        f"{len(ORDERS)} work orders, {events} taps over {plan.work_seconds / 3600:.1f} working hours "
        f"({plan.start:%a %H:%M} to {plan.end:%a %H:%M} UTC)"
    )
