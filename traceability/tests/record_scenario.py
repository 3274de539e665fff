"""Orders with a production record, written straight to the models: a clean run, and the run with
one of each exception a reviewer must see. Times are now-ish, as the ledger records them (an event's
`recorded_at` is the moment it is written), so only the taps a test means to be late are late."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from mes.models import Site, User, Workstation
from mes.tests.factories import WorkstationFactory
from quality.models import (
    ChecklistItem,
    ChecklistResponse,
    ChecklistRun,
    ChecklistTemplate,
    ChecklistTemplateVersion,
    Hold,
    Nonconformance,
    OperationChecklist,
    OperationSop,
    SopAcknowledgement,
    SopDocument,
    SopVersion,
)
from quality.states import (
    Disposition,
    HoldStatus,
    ItemKind,
    NonconformanceStatus,
    RunStatus,
    Trigger,
    VersionStatus,
)
from traceability.tests.factories import signature
from workorders.live.models import MachineCounter
from workorders.models import Consumption, Lot, ProductionEvent, WorkOrder, WorkOrderOperation
from workorders.states import EventKind, LotKind, OperationStatus, Tracking, WorkOrderStatus
from workorders.tests.factories import (
    ProductFactory,
    ReasonCodeFactory,
    RoutingFactory,
    RoutingOperationFactory,
)


@dataclass
class Scenario:
    site: Site
    workstation: Workstation
    user: User
    order: WorkOrder
    operation: WorkOrderOperation
    start: object
    runs: list[ChecklistRun] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def event(s: Scenario, kind: str, *, quantity=None, at=None, user=None, **fields) -> ProductionEvent:
    return ProductionEvent.objects.create(
        kind=kind,
        idempotency_key=uuid.uuid4(),
        request_fingerprint="test",
        work_order=s.order,
        operation=fields.pop("operation", s.operation),
        workstation=s.workstation,
        line=s.workstation.line,
        user=user or s.user,
        quantity=quantity,
        occurred_at=at or timezone.now(),
        **fields,
    )


def run(
    s: Scenario, template: ChecklistTemplate, values: list[Decimal], *, completed_at=None
) -> ChecklistRun:
    version = template.versions.get()
    item = version.items.get()
    completed_at = completed_at or s.start - timedelta(minutes=1)
    r = ChecklistRun.objects.create(
        version=version,
        template=template,
        workstation=s.workstation,
        work_order=s.order,
        operation=s.operation,
        trigger=Trigger.AT_START,
        status=RunStatus.COMPLETED,
        started_by=s.user,
        started_at=completed_at - timedelta(minutes=1),
        completed_by=s.user,
        completed_at=completed_at,
    )
    for value in values:
        ChecklistResponse.objects.create(
            run=r,
            item=item,
            value_number=value,
            in_spec=item.in_spec(value),
            recorded_by=s.user,
            recorded_at=completed_at,
        )
    s.runs.append(r)
    return r


def template(site: Site, user: User, code: str) -> ChecklistTemplate:
    t = ChecklistTemplate.objects.create(site=site, code=code, title=f"{code} check")
    v = ChecklistTemplateVersion.objects.create(
        template=t, version=1, status=VersionStatus.EFFECTIVE, created_by=user
    )
    ChecklistItem.objects.create(
        version=v, position=1, kind=ItemKind.NUMBER, prompt="Torque", unit="Nm", lsl=Decimal("4.5"),
        usl=Decimal("5.5"),
    )  # fmt: skip
    return t


def clean_order(
    *, site: Site, user: User, number: str = "WO-REC-1", quantity: int = 10, lots: int = 1
) -> Scenario:
    """A completed order run by the book: torque checked before start (in spec), the SOP in force
    acknowledged, a component lot consumed, the output lot made, quantity complete."""
    ws = WorkstationFactory(line__site=site, code=f"ASM-{number}", name="Assembly")
    product = ProductFactory(part_number=f"FIN-{number}", tracking=Tracking.LOT)
    component = ProductFactory(part_number=f"RAW-{number}", tracking=Tracking.LOT, unit="kg")
    routing = RoutingFactory(product=product)
    rop = RoutingOperationFactory(routing=routing, sequence=10, workstation=ws)
    now = timezone.now()
    start = now - timedelta(seconds=30)
    order = WorkOrder.objects.create(
        number=number, product=product, routing=routing, line=ws.line, quantity=Decimal(quantity),
        status=WorkOrderStatus.COMPLETED, quantity_good=Decimal(quantity), released_at=now,
        started_at=start, completed_at=now,
    )  # fmt: skip
    op = WorkOrderOperation.objects.create(
        work_order=order, sequence=10, name="Assemble", workstation=ws, ideal_cycle_seconds=Decimal("30"),
        status=OperationStatus.DONE, quantity_good=Decimal(quantity), started_at=start, routing_operation=rop,
    )  # fmt: skip
    s = Scenario(site=site, workstation=ws, user=user, order=order, operation=op, start=start)
    torque = template(site, user, f"TQ-{number}")
    OperationChecklist.objects.create(routing_operation=rop, template=torque, trigger=Trigger.AT_START)
    run(s, torque, [Decimal("5.0")])
    doc = SopDocument.objects.create(site=site, code=f"SOP-{number}", title="Assembly instruction")
    sop = SopVersion.objects.create(
        document=doc, version=1, status=VersionStatus.EFFECTIVE, created_by=user,
        effective_at=start - timedelta(days=1),
    )  # fmt: skip
    OperationSop.objects.create(routing_operation=rop, document=doc)
    SopAcknowledgement.objects.create(version=sop, user=user, acknowledged_at=start - timedelta(hours=1))
    event(s, EventKind.START, at=start)
    raw = Lot.objects.create(
        code=f"RAW-LOT-{number}", kind=LotKind.LOT, product=component, site=site, quantity=Decimal(100),
        produced_at=start - timedelta(days=2),
    )  # fmt: skip
    consume = event(s, EventKind.CONSUME, quantity=Decimal("2.5"))
    Consumption.objects.create(
        event=consume, lot=raw, work_order=order, operation=op, quantity=Decimal("2.5")
    )
    per_lot = Decimal(quantity) / lots
    for n in range(lots):
        made = event(s, EventKind.GOOD, quantity=per_lot)
        Lot.objects.create(
            code=f"LOT-{number}-{n}", kind=LotKind.LOT, product=product, site=site, work_order=order,
            created_event=made, quantity=per_lot, produced_at=made.occurred_at,
        )  # fmt: skip
    return s


def with_every_exception(s: Scenario, *, supervisor: User) -> Scenario:
    """Add one of each exception kind to a clean order."""
    site, user, rop = s.site, s.user, s.operation.routing_operation
    oos_run = run(
        s, template(site, user, "FINAL"), [Decimal("6.2")], completed_at=s.start + timedelta(seconds=5)
    )
    OperationChecklist.objects.create(
        routing_operation=rop, template=oos_run.template, trigger=Trigger.AT_START
    )
    s.extra["oos_response"] = oos_run.responses.get()  # out of spec, and done after the start: late
    OperationChecklist.objects.create(
        routing_operation=rop, template=template(site, user, "VISUAL"), trigger=Trigger.AT_COMPLETION
    )  # missing
    s.extra["override"] = event(s, EventKind.GOOD, quantity=Decimal(2), override_by=supervisor)
    s.order.quantity_good = Decimal(8)
    s.order.save()
    s.extra["short"] = event(
        s,
        EventKind.ORDER_STATUS,
        operation=None,
        note="Material ran out",
        data={"from": "in_progress", "to": "completed"},
    )
    now = timezone.now()
    s.extra["nc_open"] = Nonconformance.objects.create(
        number="NC-1", site=site, title="Scratch", work_order=s.order, opened_by=user, opened_at=now
    )
    s.extra["nc_done"] = Nonconformance.objects.create(
        number="NC-2", site=site, title="Burr", work_order=s.order, opened_by=user, opened_at=now,
        status=NonconformanceStatus.DISPOSITIONED, disposition=Disposition.REWORK, disposition_note="Deburred",
        dispositioned_by=supervisor, dispositioned_at=now,
    )  # fmt: skip
    signature(s.extra["nc_done"], supervisor)
    s.extra["hold"] = Hold.objects.create(
        work_order=s.order, site=site, reason="Check torque tool", status=HoldStatus.RELEASED, placed_by=supervisor,
        placed_at=now, released_by=supervisor, released_at=now, release_reason="Tool calibrated",
    )  # fmt: skip
    s.operation.name = "Assemble housing"
    s.operation._change_reason = "Name corrected"
    s.operation.save()
    MachineCounter.objects.create(workstation=s.workstation, unassigned=Decimal(5), last_message_at=now)
    s.extra["late_tap"] = event(s, EventKind.SCRAP, quantity=Decimal(1), at=now - timedelta(minutes=30),
                                reason=ReasonCodeFactory(code="DENT", kind="scrap"))  # fmt: skip
    return s
