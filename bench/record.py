"""An order's production record at plant scale: assembling it (with its exceptions) and its PDF,
against the same order's backward trace.

With no arguments it
1. drops and creates the PostgreSQL database named by DATABASE_URL's path (default
   `mes_bench_record` on 127.0.0.1:5432, user postgres; `BENCH_PG_*` to change) and migrates it;
2. bulk-creates a plant of 100,000 background orders (one operation, a start and a completion
   event, the lot it made, a history row per order and per operation; one in five with a signed
   checklist run of two values), cheaply, with `bulk_create` and no history signals;
3. builds the measured order through the models: 10 operations at 10 workstations, 500 units
   into one lot (50 completions of 10 per operation, pauses, scrap), 20 component lots consumed
   (each made by a background order from 2 raw lots, so the trace has three levels), 50
   checklist runs of 40 measured values (2,000 values, a few out of spec), 30 signatures, SOPs
   acknowledged, a nonconformance and a hold;
4. measures, in this process, the median of RUNS rounds (record and traces interleaved) of
   - `record_ms`: `record_for(order)` and `exceptions_for(record)` (what the review page, the
     JSON, the PDF and the seal check of `verify_audit_trail` start from), and its query count;
   - `trace_ms`: `trace_backward(output lot)` of the same order (and with its context);
   - `ratio_to_trace`: record_ms / trace_ms (target <= 5);
   - `pdf_s`: the record PDF (assembly, review view and PDF), and `trace_pdf_s`: the trace PDF of
     the same lot (trace, context, PDF), for comparison.

`--reuse` measures again on the database a previous run built (migrated first: the tree may have
gained a migration since). The last line is one JSON object; it exits 0 whether or not the target
is met, non-zero when the setup itself fails.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    SetupFailed,
    cpu_speed_probe,
    database_url,
    load_average,
    log,
    recreate_database,
    setup_django,
)

DATABASE = (
    urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/") if os.environ.get("DATABASE_URL") else ""
) or ("mes_bench_record")
BACKGROUND_ORDERS = int(os.environ.get("BENCH_RECORD_ORDERS", "100000"))  # smaller for a smoke run
OPERATIONS = 10
UNITS = 500
COMPLETIONS_PER_OP = 50
RUNS_PER_OP = 5
VALUES_PER_RUN = 40  # 10 operations x 5 runs x 40 = 2,000 measured values
SIGNATURES = 30
COMPONENT_LOTS = 20
RUNS = 9
TARGETS = {"ratio_to_trace": 5}
T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
BATCH = 5000
NUMBER = "WO-BENCH-REC"


def _uuid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


class _RecordedAsGiven:
    """Let `bulk_create` keep the `recorded_at` the bench gives each event: the ledger stamps it
    at insert (`auto_now_add`), which would make every event of a past order an offline tap."""

    def __enter__(self):
        from workorders.models import ProductionEvent

        self.field = ProductionEvent._meta.get_field("recorded_at")
        self.field.auto_now_add = False

    def __exit__(self, *exc):
        self.field.auto_now_add = True


def build() -> None:
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType

    from mes import roles
    from mes.models import Line, Site, User, Workstation
    from mes.signatures import Meaning, Method, Signature, content_hash
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
    from quality.states import HoldStatus, ItemKind, RunStatus, Trigger, VersionStatus
    from workorders.models import (
        BomLine,
        Consumption,
        GenealogyLink,
        Lot,
        Product,
        ProductionEvent,
        ReasonCode,
        Routing,
        RoutingOperation,
        WorkOrder,
        WorkOrderOperation,
    )
    from workorders.states import EventKind, LotKind, OperationStatus, Tracking, WorkOrderStatus

    site = Site.objects.create(code="BENCH", name="Bench plant")
    line = Line.objects.create(site=site, code="L1", name="Line 1")
    stations = [
        Workstation.objects.create(line=line, code=f"WS{i:02d}", name=f"Station {i}")
        for i in range(OPERATIONS)
    ]
    people = []
    for i in range(5):
        u = User.objects.create_user(
            username=f"bench-op-{i}", password="x", first_name="Op", last_name=str(i)
        )
        u.groups.add(Group.objects.get(name=roles.OPERATOR))
        u.sites.add(site)
        people.append(u)
    auditor = User.objects.create_user(
        username="bench-auditor", password="x", first_name="Audrey", last_name="A"
    )
    auditor.groups.add(Group.objects.get(name=roles.AUDITOR))
    auditor.sites.add(site)
    who = people[0]
    scrap = ReasonCode.objects.create(code="DENT", name="Dent", kind="scrap")

    raw = Product.objects.create(part_number="RAW", name="Raw", tracking=Tracking.LOT, unit="kg")
    comp = Product.objects.create(part_number="COMP", name="Component", tracking=Tracking.LOT)
    fin = Product.objects.create(part_number="FIN", name="Finished", tracking=Tracking.LOT)
    BomLine.objects.create(product=fin, component=comp, quantity=Decimal(1))
    BomLine.objects.create(product=comp, component=raw, quantity=Decimal(1))
    bg_routing = Routing.objects.create(product=comp, code="R-COMP", name="Component")
    RoutingOperation.objects.create(
        routing=bg_routing, sequence=10, name="Make", workstation=stations[0], ideal_cycle_seconds=Decimal(5)
    )

    # --- the background plant ---------------------------------------------------------------------
    t = time.perf_counter()
    template = ChecklistTemplate.objects.create(site=site, code="BG", title="Background check")
    bg_version = ChecklistTemplateVersion.objects.create(
        template=template, version=1, status=VersionStatus.EFFECTIVE, created_by=who
    )
    bg_item = ChecklistItem.objects.create(
        version=bg_version, position=1, kind=ItemKind.NUMBER, prompt="Length", unit="mm",
        lsl=Decimal("9.5"), usl=Decimal("10.5"),
    )  # fmt: skip
    raw_lots = Lot.objects.bulk_create(
        [
            Lot(code=f"RAW-{i:05d}", kind=LotKind.LOT, product=raw, site=site, quantity=Decimal(1000),
                supplier="Bench", supplier_lot=f"S{i}", produced_at=T0 - timedelta(days=30))
            for i in range(2 * COMPONENT_LOTS)
        ]
    )  # fmt: skip
    event_id = 0
    for start in range(0, BACKGROUND_ORDERS, BATCH):
        n = range(start, min(start + BATCH, BACKGROUND_ORDERS))
        at = [T0 - timedelta(minutes=BACKGROUND_ORDERS - i) for i in n]
        orders = WorkOrder.objects.bulk_create(
            [
                WorkOrder(number=f"BG-{i:06d}", product=comp, routing=bg_routing, line=line, quantity=Decimal(10),
                          status=WorkOrderStatus.CLOSED, quantity_good=Decimal(10), released_at=a, started_at=a,
                          completed_at=a + timedelta(seconds=50))
                for i, a in zip(n, at, strict=True)
            ]
        )  # fmt: skip
        ops = WorkOrderOperation.objects.bulk_create(
            [
                WorkOrderOperation(work_order=o, sequence=10, name="Make", workstation=stations[i % OPERATIONS],
                                   ideal_cycle_seconds=Decimal(5), status=OperationStatus.DONE,
                                   quantity_good=Decimal(10), started_at=a, last_event_at=a)
                for i, (o, a) in enumerate(zip(orders, at, strict=True))
            ]
        )  # fmt: skip
        events = []
        for i, (o, op, a) in enumerate(zip(orders, ops, at, strict=True)):
            for kind, q in ((EventKind.START, None), (EventKind.GOOD, Decimal(10))):
                event_id += 1
                events.append(
                    ProductionEvent(kind=kind, idempotency_key=_uuid(event_id), request_fingerprint="bench",
                                    work_order=o, operation=op, workstation=op.workstation, line=line,
                                    user=people[i % 5], quantity=q, occurred_at=a, recorded_at=a)
                )  # fmt: skip
        with _RecordedAsGiven():
            events = ProductionEvent.objects.bulk_create(events, batch_size=BATCH)
        Lot.objects.bulk_create(
            [
                Lot(code=f"BG-LOT-{i:06d}", kind=LotKind.LOT, product=comp, site=site, work_order=o,
                    created_event=events[2 * k + 1], quantity=Decimal(10), produced_at=a)
                for k, (i, o, a) in enumerate(zip(n, orders, at, strict=True))
            ]
        )  # fmt: skip
        WorkOrder.history.model.objects.bulk_create(
            [
                WorkOrder.history.model(id=o.pk, number=o.number, product=comp, routing=bg_routing, line=line,
                                        quantity=o.quantity, status=o.status, version=1, priority=0,
                                        status_before_hold="", released_at=o.released_at, created_at=o.released_at,
                                        history_date=o.released_at, history_type="+", history_user=who)
                for o in orders
            ]
        )  # fmt: skip
        WorkOrderOperation.history.model.objects.bulk_create(
            [
                WorkOrderOperation.history.model(
                    id=op.pk, work_order_id=op.work_order_id, sequence=10, name="Make",
                    workstation_id=op.workstation_id, setup_seconds=0, ideal_cycle_seconds=Decimal(5),
                    allow_overlap=False, status=op.status, started_at=op.started_at,
                    history_date=op.started_at, history_type="+", history_user=who)
                for op in ops
            ]
        )  # fmt: skip
        checked = [(o, op, a) for k, (o, op, a) in enumerate(zip(orders, ops, at, strict=True)) if k % 5 == 0]
        runs = ChecklistRun.objects.bulk_create(
            [
                ChecklistRun(version=bg_version, template=template, workstation=op.workstation, work_order=o,
                             operation=op, trigger=Trigger.AT_START, status=RunStatus.COMPLETED, started_by=who,
                             started_at=a, completed_by=who, completed_at=a)
                for o, op, a in checked
            ]
        )  # fmt: skip
        ChecklistResponse.objects.bulk_create(
            [
                ChecklistResponse(run=r, item=bg_item, value_number=Decimal("10.0") + Decimal(k) / 10, in_spec=True,
                                  recorded_by=who, recorded_at=r.completed_at)
                for r in runs
                for k in range(2)
            ]
        )  # fmt: skip
        run_ct = ContentType.objects.get_for_model(ChecklistRun)
        Signature.objects.bulk_create(
            [
                Signature(content_type=run_ct, object_id=str(r.pk), signer=who, printed_name=who.printed_name,
                          meaning=Meaning.PERFORMED, method=Method.PASSWORD, signed_at=r.completed_at,
                          content_hash="0" * 64)
                for r in runs
            ]
        )  # fmt: skip
        log(
            f"  {min(start + BATCH, BACKGROUND_ORDERS):,} background orders ({time.perf_counter() - t:.0f} s)"
        )

    # The component lots the measured order consumes: made by the last background orders, each
    # from two raw lots.
    components = list(Lot.objects.filter(product=comp).order_by("-pk")[:COMPONENT_LOTS])
    GenealogyLink.objects.bulk_create(
        [
            GenealogyLink(parent=raw_lots[2 * k + j], child=c, quantity=Decimal(5),
                          event=c.created_event, created_at=c.produced_at)
            for k, c in enumerate(components)
            for j in range(2)
        ]
    )  # fmt: skip

    # --- the measured order -----------------------------------------------------------------------
    routing = Routing.objects.create(product=fin, code="R-FIN", name="Finished")
    rops = [
        RoutingOperation.objects.create(routing=routing, sequence=10 * (i + 1), name=f"Step {i + 1}",
                                        workstation=stations[i], ideal_cycle_seconds=Decimal(20))
        for i in range(OPERATIONS)
    ]  # fmt: skip
    start_at = T0 + timedelta(hours=1)
    order = WorkOrder.objects.create(
        number=NUMBER, product=fin, routing=routing, line=line, quantity=Decimal(UNITS),
        status=WorkOrderStatus.COMPLETED, quantity_good=Decimal(UNITS) - 3, quantity_scrap=Decimal(3),
        released_at=start_at - timedelta(minutes=10), started_at=start_at,
        completed_at=start_at + timedelta(hours=12),
    )  # fmt: skip
    ops = []
    for i, rop in enumerate(rops):
        ops.append(
            WorkOrderOperation.objects.create(
                work_order=order, sequence=rop.sequence, name=rop.name, workstation=rop.workstation,
                ideal_cycle_seconds=Decimal(20), status=OperationStatus.DONE, routing_operation=rop,
                quantity_good=Decimal(UNITS), started_at=start_at + timedelta(minutes=10 * i),
            )
        )  # fmt: skip
    events = []
    for i, op in enumerate(ops):
        at = op.started_at
        seq = [(EventKind.START, None, None)]
        for k in range(COMPLETIONS_PER_OP):
            seq.append((EventKind.GOOD, Decimal(UNITS // COMPLETIONS_PER_OP), None))
            if k % 10 == 5:
                seq += [(EventKind.PAUSE, None, None), (EventKind.RESUME, None, None)]
        if i == 3:
            seq.append((EventKind.SCRAP, Decimal(3), scrap))
        for kind, qty, reason in seq:
            event_id += 1
            at += timedelta(seconds=40)
            events.append(
                ProductionEvent(kind=kind, idempotency_key=_uuid(event_id), request_fingerprint="bench",
                                work_order=order, operation=op, workstation=op.workstation, line=line,
                                user=people[(i + event_id) % 5], quantity=qty, reason=reason, occurred_at=at,
                                recorded_at=at)
            )  # fmt: skip
    with _RecordedAsGiven():
        events = ProductionEvent.objects.bulk_create(events)
    output = Lot.objects.create(
        code="FIN-LOT-1", kind=LotKind.LOT, product=fin, site=site, work_order=order, created_event=events[1],
        quantity=Decimal(UNITS) - 3, produced_at=start_at,
    )  # fmt: skip
    for k, c in enumerate(components):
        event_id += 1
        at = start_at + timedelta(minutes=k)
        with _RecordedAsGiven():
            consume = ProductionEvent.objects.create(
                kind=EventKind.CONSUME, idempotency_key=_uuid(event_id), request_fingerprint="bench",
                work_order=order, operation=ops[0], workstation=ops[0].workstation, line=line, user=who,
                quantity=Decimal(10), occurred_at=at, recorded_at=at, data={"lot": c.code, "into": output.code},
            )  # fmt: skip
        Consumption.objects.create(
            event=consume, lot=c, work_order=order, operation=ops[0], quantity=Decimal(10),
            quantity_allocated=Decimal(10),
        )  # fmt: skip
        GenealogyLink.objects.create(
            parent=c, child=output, quantity=Decimal(10), event=consume, created_at=consume.occurred_at
        )

    runs = []
    for i, (op, rop) in enumerate(zip(ops, rops, strict=True)):
        t_i = ChecklistTemplate.objects.create(site=site, code=f"CHK{i}", title=f"Check of step {i + 1}")
        v_i = ChecklistTemplateVersion.objects.create(
            template=t_i, version=1, status=VersionStatus.EFFECTIVE, created_by=who
        )
        items = ChecklistItem.objects.bulk_create(
            [
                ChecklistItem(version=v_i, position=k, kind=ItemKind.NUMBER, prompt=f"Dimension {k}", unit="mm",
                              lsl=Decimal("9.5"), usl=Decimal("10.5"))
                for k in range(VALUES_PER_RUN)
            ]
        )  # fmt: skip
        OperationChecklist.objects.create(
            routing_operation=rop,
            template=t_i,
            trigger=Trigger.EVERY_N_UNITS,
            every_n_units=UNITS // RUNS_PER_OP,
        )
        for r in range(RUNS_PER_OP):
            done = op.started_at + timedelta(minutes=20 * (r + 1))
            run = ChecklistRun.objects.create(
                version=v_i, template=t_i, workstation=op.workstation, work_order=order, operation=op,
                trigger=Trigger.EVERY_N_UNITS, status=RunStatus.COMPLETED, started_by=who,
                started_at=done - timedelta(minutes=2), completed_by=who, completed_at=done,
                units_at_submission=Decimal(100 * (r + 1)),
            )  # fmt: skip
            runs.append(run)
            ChecklistResponse.objects.bulk_create(
                [
                    ChecklistResponse(
                        run=run, item=item,
                        value_number=Decimal("10.7") if (i, r, k) == (2, 1, 7) else Decimal("10.0") + Decimal(k % 5) / 20,
                        in_spec=(i, r, k) != (2, 1, 7), recorded_by=who, recorded_at=done,
                    )
                    for k, item in enumerate(items)
                ]
            )  # fmt: skip
        doc = SopDocument.objects.create(site=site, code=f"SOP{i}", title=f"Instruction of step {i + 1}")
        sop = SopVersion.objects.create(
            document=doc, version=1, status=VersionStatus.EFFECTIVE, created_by=who,
            effective_at=T0 - timedelta(days=10),
        )  # fmt: skip
        OperationSop.objects.create(routing_operation=rop, document=doc)
        SopAcknowledgement.objects.bulk_create(
            [SopAcknowledgement(version=sop, user=p, acknowledged_at=T0 - timedelta(days=5)) for p in people]
        )
    nc = Nonconformance.objects.create(
        number="NC-BENCH-1", site=site, title="Dimension 7 out of spec", work_order=order, operation=ops[2],
        opened_by=who, opened_at=start_at + timedelta(hours=1),
    )  # fmt: skip
    hold = Hold.objects.create(
        work_order=order, site=site, reason="Check gauge", status=HoldStatus.RELEASED, placed_by=who,
        placed_at=start_at + timedelta(hours=1), released_by=who, released_at=start_at + timedelta(hours=2),
        release_reason="Gauge calibrated",
    )  # fmt: skip
    signed = [*runs[: SIGNATURES - 2], nc, hold]
    Signature.objects.bulk_create(
        [
            Signature(
                content_type=ContentType.objects.get_for_model(r), object_id=str(r.pk), signer=who,
                printed_name=who.printed_name, meaning=Meaning.PERFORMED, method=Method.PASSWORD,
                signed_at=start_at + timedelta(hours=3), content_hash=content_hash(r),
            )
            for r in signed
        ]
    )  # fmt: skip
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    log(f"built in {time.perf_counter() - t:.0f} s")


def _median_ms(fn, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def measure() -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mes.models import User
    from traceability import selectors
    from traceability.record.exceptions import exceptions_for
    from traceability.record.pdf import record_pdf
    from traceability.record.review import record_view
    from traceability.record.selectors import record_for
    from traceability.reports import trace
    from workorders.models import Lot, WorkOrder

    order = WorkOrder.objects.get(number=NUMBER)
    lot = Lot.objects.get(code="FIN-LOT-1")
    auditor = User.objects.get(username="bench-auditor")

    def assemble():
        return exceptions_for(record_for(order))

    assemble()  # warm the connection and the caches, as a running server has them
    with CaptureQueriesContext(connection) as queries:
        record = record_for(order)
        found = exceptions_for(record)
    c = record.content
    values = sum(len(r["responses"]) for r in c["checklist_runs"])
    log(f"record of {order.number}: {len(c['operations'])} operations, {len(c['events'])} events, {values:,} "
        f"values, {len(c['signatures'])} signatures, {len(found)} exceptions; {len(queries)} queries")  # fmt: skip
    # Interleaved, so that the record and the trace it is compared with meet the same load on a
    # shared machine; the ratios are the medians of each round's ratio.
    selectors.trace_backward(lot, user=auditor, context=True)
    rounds = [
        (
            _median_ms(assemble, 1),
            _median_ms(lambda: selectors.trace_backward(lot, user=auditor), 1),
            _median_ms(lambda: selectors.trace_backward(lot, user=auditor, context=True), 1),
        )
        for _ in range(RUNS)
    ]
    record_ms, trace_ms, context_ms = (statistics.median(column) for column in zip(*rounds, strict=True))
    ratio = statistics.median(r / t for r, t, _ in rounds)
    ratio_context = statistics.median(r / c for r, _, c in rounds)
    log(f"record {record_ms:.1f} ms; backward trace of {lot.code} {trace_ms:.1f} ms "
        f"({len(selectors.trace_backward(lot, user=auditor).nodes)} lots), with context {context_ms:.1f} ms")  # fmt: skip

    def pdf():
        return record_pdf(record_view(order))

    def trace_pdf():
        return trace.build_pdf(trace.trace_document(lot=lot, direction="backward", user=auditor))

    pdf_s = _median_ms(pdf, 3) / 1000
    trace_pdf_s = _median_ms(trace_pdf, 3) / 1000
    log(f"record PDF {pdf_s:.2f} s ({len(pdf()) / 1024:.0f} KiB); trace PDF {trace_pdf_s:.2f} s")
    return {
        "record_ms": round(record_ms, 1),
        "record_queries": len(queries),
        "trace_ms": round(trace_ms, 1),
        "trace_context_ms": round(context_ms, 1),
        "ratio_to_trace": round(ratio, 2),
        "ratio_to_trace_context": round(ratio_context, 2),
        "pdf_s": round(pdf_s, 2),
        "trace_pdf_s": round(trace_pdf_s, 2),
    }


def main() -> int:
    try:
        log(f"cpu probe {cpu_speed_probe():.0f} ms, load {load_average()}")
        if "--reuse" in sys.argv:
            setup_django(database_url(DATABASE))
        else:
            setup_django(recreate_database(DATABASE))
            log(f"building {BACKGROUND_ORDERS:,} background orders and the measured one in {DATABASE} ...")
            build()
        result = measure()
    except SetupFailed as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 2
    missed = [k for k, limit in TARGETS.items() if result[k] > limit]
    log(f"targets: {TARGETS}; missed: {missed or 'none'}")
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
