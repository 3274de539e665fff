"""The production part of the demo plant: idempotent, every order status, a believable ledger."""

import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum

from mes.demo import DEMO_SITE, SECOND_SITE, seed_plant
from mes.models import Site
from workorders import services
from workorders.demo import data, replay, second_site, simulator
from workorders.models import (
    BomLine,
    Downtime,
    Product,
    ProductionEvent,
    ReasonCode,
    Routing,
    RoutingOperation,
    WorkOrder,
    WorkOrderOperation,
)
from workorders.states import EventKind, OperationStatus, ReasonKind, WorkOrderStatus

BERLIN = ZoneInfo("Europe/Berlin")


def counts():
    models = (ReasonCode, Product, BomLine, Routing, RoutingOperation, WorkOrder, WorkOrderOperation)
    return {
        **{m.__name__: m.objects.count() for m in models},
        "events": dict(ProductionEvent.objects.values_list("kind").annotate(n=Count("id"))),
        "downtimes": Downtime.objects.count(),
    }


def projections():
    operations = list(
        WorkOrderOperation.objects.order_by("pk").values(
            "pk", "status", "quantity_good", "quantity_scrap", "started_at", "last_event_at"
        )
    )
    orders = list(
        WorkOrder.objects.order_by("pk").values(
            "pk",
            "status",
            "status_before_hold",
            "quantity_good",
            "quantity_scrap",
            "released_at",
            "started_at",
            "completed_at",
        )
    )
    downtimes = list(
        Downtime.objects.order_by("pk").values("pk", "started_at", "ended_at", "planned", "end_event")
    )
    return operations, orders, downtimes


def assert_history_in_time_order_per_workstation_and_not_in_the_future():
    taps = ProductionEvent.objects.exclude(kind=EventKind.ORDER_STATUS).order_by("pk")
    last_at = defaultdict(lambda: None)
    latest = ProductionEvent.objects.order_by("-recorded_at").values_list("recorded_at", flat=True).first()
    for event in taps:
        previous = last_at[event.workstation_id]
        assert previous is None or event.occurred_at >= previous, event
        assert event.occurred_at <= latest
        last_at[event.workstation_id] = event.occurred_at
    oldest = taps.order_by("occurred_at").first().occurred_at
    assert latest - oldest <= timedelta(hours=simulator.HISTORY_HOURS)


def test_seed_demo_is_idempotent_and_leaves_orders_in_every_status_with_a_full_ledger(demo_plant, db):
    first = counts()
    call_command("seed_demo")
    assert counts() == first

    assert set(WorkOrder.objects.values_list("status", flat=True)) == set(WorkOrderStatus.values)
    in_progress = WorkOrder.objects.filter(status=WorkOrderStatus.IN_PROGRESS)
    assert set(in_progress.values_list("line__code", flat=True)) == {"MACH", "ASSY", "PACK", "KITS"}
    assert set(ReasonCode.objects.values_list("kind", flat=True)) == set(ReasonKind.values)
    assert ReasonCode.objects.filter(kind=ReasonKind.DOWNTIME, loss="").count() == 0
    assert ReasonCode.objects.filter(kind=ReasonKind.DOWNTIME, planned=True).exists()

    events = first["events"]
    for kind in EventKind.values:
        assert events.get(kind, 0) > 0, kind
    assert sum(events.values()) < 3000  # keeps seeding quick
    good = ProductionEvent.objects.filter(kind=EventKind.GOOD).aggregate(q=Sum("quantity"))["q"]
    scrap = ProductionEvent.objects.filter(kind=EventKind.SCRAP).aggregate(q=Sum("quantity"))["q"]
    assert 0.015 < scrap / (good + scrap) < 0.05
    assert not ProductionEvent.objects.filter(kind=EventKind.SCRAP, reason__isnull=True).exists()
    assert not ProductionEvent.objects.filter(kind=EventKind.PAUSE, reason__isnull=True).exists()
    overridden = ProductionEvent.objects.filter(kind=EventKind.GOOD, override_by__isnull=False)
    assert list(overridden.values_list("override_by__username", flat=True)) == ["supervisor"]
    taps = ProductionEvent.objects.exclude(kind=EventKind.ORDER_STATUS).filter(
        work_order__number__in=[o.number for o in data.ORDERS]
    )
    assert set(taps.values_list("user__username", flat=True)) == {"operator", "operator2"}

    open_downtimes = Downtime.objects.filter(ended_at__isnull=True)
    assert ("MILL1", "BREAKDOWN") in open_downtimes.values_list("workstation__code", "reason__code")
    assert Downtime.objects.filter(planned=True, ended_at__isnull=False).exists()
    assert Downtime.objects.filter(planned=False, ended_at__isnull=False).exists()

    held = WorkOrder.objects.get(status=WorkOrderStatus.ON_HOLD)
    assert held.status_before_hold == WorkOrderStatus.IN_PROGRESS
    assert held.operations.get().status == OperationStatus.PAUSED
    for order in WorkOrder.objects.filter(status=WorkOrderStatus.IN_PROGRESS):
        assert order.quantity_good < order.quantity
    for order in WorkOrder.objects.filter(status__in=[WorkOrderStatus.COMPLETED, WorkOrderStatus.CLOSED]):
        assert order.quantity_good >= order.quantity
        assert set(order.operations.values_list("status", flat=True)) == {OperationStatus.DONE}
    assert_history_in_time_order_per_workstation_and_not_in_the_future()

    # The second site has its own orders, made and tapped by its own people only.
    second = WorkOrder.objects.filter(line__site__code=SECOND_SITE)
    assert {o.number: o.status for o in second} == {n: s for n, _, _, s, _ in second_site.SECOND_ORDERS}
    second_taps = ProductionEvent.objects.filter(line__site__code=SECOND_SITE).exclude(
        kind=EventKind.ORDER_STATUS
    )
    assert set(second_taps.values_list("user__username", flat=True)) == {second_site.SECOND_OPERATOR}
    created = WorkOrder.history.filter(id__in=second.values("pk"), history_type="+")
    assert set(created.values_list("history_user__username", flat=True)) == {second_site.SECOND_SUPERVISOR}


def test_rebuilding_the_projections_from_the_ledger_changes_nothing(db):
    seed_plant(lambda msg: None)  # just the plant and production: quicker than all of seed_demo
    replay.seed_production(lambda msg: None)
    live = projections()
    assert services.rebuild_projections() == WorkOrder.objects.count()
    assert projections() == live


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 18, 10, 30, tzinfo=BERLIN),  # Wednesday: night and early shift
        datetime(2026, 11, 21, 1, 0, tzinfo=BERLIN),  # Saturday night: Friday's late shift only
        datetime(2026, 11, 22, 15, 0, tzinfo=BERLIN),  # Sunday: no shift, weekend overtime
        datetime(2026, 3, 30, 8, 0, tzinfo=BERLIN),  # Monday after the clocks went forward
    ],
)
def test_the_planned_history_is_sound_whatever_the_time_of_seeding(db, now):
    seed_plant(lambda msg: None)
    plan = simulator.plan_history(Site.objects.get(code=DEMO_SITE), now, random.Random(data.SEED))
    assert plan.start == now - timedelta(hours=simulator.HISTORY_HOURS)
    assert plan.work_seconds >= simulator.MIN_SHIFT_HOURS * 3600
    assert all(0 <= a.at <= (plan.end - plan.start).total_seconds() for a in plan.actions)
    last_at: dict[str, float] = {}
    for action in plan.actions:
        assert action.at >= last_at.get(action.station, 0)
        last_at[action.station] = action.at
    kinds = Counter(a.kind for a in plan.actions)
    assert kinds["downtime_start"] == kinds["downtime_end"] + 1
    assert {"start", "good", "scrap", "pause", "resume"} <= set(kinds)
    assert len(plan.actions) < 3000
    fixed = [j for j in plan.jobs if j.target is not None]
    assert fixed and all(j.done for j in fixed)
    # A downstream operation never counts what its upstream operation has not made yet.
    for job in plan.jobs:
        if job.upstream is not None:
            for at, total in zip(job.times, job.totals, strict=True):
                assert total <= job.upstream.made_by(at)
