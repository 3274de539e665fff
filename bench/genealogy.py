"""Genealogy at scale: trace queries, the trace PDF and the audit-trail filter on a big history.

With no arguments it
1. drops and creates the PostgreSQL database `mes_bench_genealogy` (127.0.0.1:5432, user
   postgres; `BENCH_PG_*` to change) and migrates it;
2. bulk-loads with COPY (not the ORM) a synthetic history: 1,000,000 lots in 8 levels (raw lots,
   six levels of intermediate lots, finished serials), about 3,000,000 genealogy links, the
   orders, operations and ledger events that made them, and one history row per lot in
   `workorders_historicallot` (1,000,000 rows, by 20 people over a year).

   Fan-in: each lot is made from 1 to 4 lots of the level below (3 on average), chosen among the
   lots made around the same time (a narrow window), as a line consumes what was made just
   before. A few bulk raw lots (resin batches) feed the first level over long stretches: a bulk
   lot reaches about 2 % of all finished units (~10,000), which is the forward trace measured;
3. measures, in this process:
   - backward trace of a finished unit (`trace_backward`), p95 over 200 random units;
   - forward trace of a bulk raw lot reaching ~10,000 finished units (`trace_forward`);
   - the ratio of the selector's time to the same recursive SQL run bare (ids only, no objects),
     over the 200 backward traces (`ratio_to_sql`) and for the forward one (`ratio_to_sql_forward`,
     medians of four); the two take turns at reading a unit first, and each starts after a
     garbage collection, so neither pays for the other's cold pages or garbage;
   - the PDF trace report (with the full context) of a complex assembly, a finished unit that
     also takes 400 purchased parts directly (~1,000 records: lots, links, operations,
     operators), built in a child process so its peak RSS is its own; and the same for a unit
     taking 5,000 parts (~10,000 records): `pdf_rss_ratio` is the big report's peak RSS over the
     small one's, and should stay near 1 (a report's memory is flat in its size);
   - the audit-trail filter (`traceability.audit.audit_entries`, first page of 50) over the
     1,000,000 history rows: one person's changes to lots in one month.

`--reuse` measures again on the database a previous run built (for working on the code);
`--database NAME` uses another database than `mes_bench_genealogy`;
`--only traces` measures the traces alone (no PDFs, no audit filter; their keys are left out).
The last line is one JSON object. It exits 0 whether or not the targets are met (it measures) and
non-zero when the setup itself fails.
"""

from __future__ import annotations

import gc
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    BASE_DIR,
    SetupFailed,
    cpu_speed_probe,
    database_url,
    load_average,
    log,
    percentiles,
    recreate_database,
    setup_django,
)

DATABASE = "mes_bench_genealogy"
# Lots per level: raw, six intermediate levels, finished serials (1,000,000 in all).
LEVELS = [20_000, 30_000, 40_000, 60_000, 80_000, 120_000, 150_000, 500_000]
BULK_LOTS = 50  # bulk raw lots, each feeding 2 % of the first level
FAN_IN = [1, 2, 3, 3, 4, 4, 4, 3, 2, 4]  # drawn uniformly: 3 on average
WINDOW = 3  # parents come from within +-WINDOW of the child's place in time
# The first finished unit is a complex assembly: besides its sub-assembly, it takes this many
# purchased parts (raw lots) directly, so its trace report has about 1,000 records.
ASSEMBLY_PARTS = 400
# The second finished unit is ten times that big (~10,000 records): a report's peak memory is
# measured on both, and should not grow with the report's size.
LARGE_ASSEMBLY_PARTS = 5_000
LOTS_PER_ORDER = [0, 5, 5, 5, 5, 5, 5, 100]  # raw lots are received, not made
USERS = 20
SAMPLES = 200
TARGETS = {
    "backward_p95_ms": 50,
    "forward_10k_ms": 1000,
    "ratio_to_sql": 1.1,
    "ratio_to_sql_forward": 1.1,
    "pdf_s": 3,
    "pdf_peak_rss_mb": 300,
    "pdf_rss_ratio": 1.2,
    "audit_filter_ms": 200,
}
T0 = datetime(2025, 1, 1, tzinfo=UTC)
YEAR = 365 * 24 * 3600


def when(level: int, index: int) -> datetime:
    """Lots of every level spread over the year, in the order they were made."""
    return T0 + timedelta(seconds=int(YEAR * (index + 0.5) / LEVELS[level]) + level * 3600)


def copy_rows(cursor, table: str, columns: list[str], rows) -> int:
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def build(db_url: str) -> dict:
    """Load the synthetic plant and history; returns the ids the measurements need."""
    from django.db import connection

    from mes import roles
    from mes.models import Line, Site, User, Workstation
    from workorders.models import Product, Routing

    rng = random.Random(42)
    site = Site.objects.create(code="BENCH", name="Bench plant")
    line = Line.objects.create(site=site, code="L1", name="Line 1")
    station = Workstation.objects.create(line=line, code="WS1", name="Station 1")
    users = []
    for n in range(USERS):
        user = User.objects.create(username=f"bench-op-{n}", first_name="Bench", last_name=f"Operator {n}")
        users.append(user.pk)
    auditor = User.objects.create(
        username="bench-auditor", first_name="Bench", last_name="Auditor", all_sites=True
    )
    from django.contrib.auth.models import Group

    auditor.groups.add(Group.objects.get(name=roles.AUDITOR))
    products, routings = [], []
    for level in range(len(LEVELS)):
        product = Product.objects.create(
            part_number=f"BP-{level}",
            name=f"Bench level {level}",
            tracking="serial" if level == len(LEVELS) - 1 else "lot",
        )
        products.append(product.pk)
        routings.append(Routing.objects.create(product=product, code="R1", name="Routing").pk)
    bulk = Product.objects.create(part_number="BP-BULK", name="Bulk resin", tracking="lot", unit="kg")

    raw = connection.connection  # the psycopg connection under Django's
    t = time.perf_counter()
    with raw.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        # --- orders, operations, ledger events -------------------------------------------------
        orders: list[tuple[int, int, int]] = []  # (level, first lot index, order id)
        order_rows, op_rows, event_rows = [], [], []
        order_id = op_id = event_id = 0
        order_of: list[list[int]] = [[] for _ in LEVELS]  # per level, lot index // size -> order id
        consume_event: dict[int, int] = {}
        created_event: dict[int, int] = {}
        for level, n_lots in enumerate(LEVELS):
            size = LOTS_PER_ORDER[level]
            if not size:
                continue
            for first in range(0, n_lots, size):
                order_id += 1
                op_id += 1
                start = when(level, first) - timedelta(minutes=30)
                who = users[rng.randrange(USERS)]
                order_rows.append((order_id, f"BWO-{level}-{first // size:06d}", products[level], routings[level],
                                   line.pk, size, 0, "completed", "", 1, size, 0, start, start,
                                   start + timedelta(hours=1), start))  # fmt: skip
                op_rows.append(
                    (op_id, order_id, 10, "Make", station.pk, 0, 30, False, "done", size, 0, start, start)
                )
                for kind, at in (("start", start), ("consume", start + timedelta(minutes=1)),
                                 ("complete", start + timedelta(minutes=50))):  # fmt: skip
                    event_id += 1
                    event_rows.append((event_id, kind, str(uuid.UUID(int=event_id)), "bench", order_id, op_id,
                                       station.pk, line.pk, who, size if kind == "complete" else None, "", "{}",
                                       at, at))  # fmt: skip
                    if kind == "consume":
                        consume_event[order_id] = event_id
                    if kind == "complete":
                        created_event[order_id] = event_id
                order_of[level].append(order_id)
                orders.append((level, first, order_id))
        copy_rows(cur, "workorders_workorder",
                  ["id", "number", "product_id", "routing_id", "line_id", "quantity", "priority", "status",
                   "status_before_hold", "version", "quantity_good", "quantity_scrap", "released_at", "started_at",
                   "completed_at", "created_at"], order_rows)  # fmt: skip
        copy_rows(cur, "workorders_workorderoperation",
                  ["id", "work_order_id", "sequence", "name", "workstation_id", "setup_seconds",
                   "ideal_cycle_seconds", "allow_overlap", "status", "quantity_good", "quantity_scrap", "started_at",
                   "last_event_at"], op_rows)  # fmt: skip
        copy_rows(cur, "workorders_productionevent",
                  ["id", "kind", "idempotency_key", "request_fingerprint", "work_order_id", "operation_id",
                   "workstation_id", "line_id", "user_id", "quantity", "note", "data", "occurred_at", "recorded_at"],
                  event_rows)  # fmt: skip
        log(f"  {len(order_rows):,} orders, {len(event_rows):,} events in {time.perf_counter() - t:.0f} s")
        del order_rows, op_rows, event_rows

        # --- lots and their history ----------------------------------------------------------------
        first_id: list[int] = []
        next_id = 1
        for n_lots in LEVELS:
            first_id.append(next_id)
            next_id += n_lots
        bulk_first = next_id
        last_level = len(LEVELS) - 1

        def lot_rows():
            for level, n_lots in enumerate(LEVELS):
                size = LOTS_PER_ORDER[level]
                serial = level == last_level
                for i in range(n_lots):
                    made = when(level, i)
                    order = order_of[level][i // size] if size else None
                    yield (first_id[level] + i, f"B{level}-{i:06d}", "serial" if serial else "lot",
                           products[level], site.pk, order, created_event.get(order) if order else None,
                           1 if serial else 100, 0, "available" if serial else "consumed",
                           "" if order else "Bench supplier", "" if order else f"SUP-{i:06d}", made, made)  # fmt: skip
            for b in range(BULK_LOTS):
                made = T0 + timedelta(days=b * 7)
                yield (bulk_first + b, f"BULK-{b:03d}", "lot", bulk.pk, site.pk, None, None, 5000, 0, "consumed",
                       "Resin Co", f"RES-{b:03d}", made, made)  # fmt: skip

        lot_columns = ["id", "code", "kind", "product_id", "site_id", "work_order_id", "created_event_id",
                       "quantity", "quantity_consumed", "status", "supplier", "supplier_lot", "produced_at",
                       "created_at"]  # fmt: skip
        n = copy_rows(cur, "workorders_lot", lot_columns, lot_rows())
        log(f"  {n:,} lots in {time.perf_counter() - t:.0f} s")

        def history_rows():
            # One "+" row per lot, by the person who made it; history ids in time order.
            for history_id, row in enumerate(lot_rows(), start=1):
                (lot_id, code, kind, product, site_id, order, made_by_event, _q, _c, status, supplier, supplier_lot,
                 made, created) = row  # fmt: skip
                who = users[(lot_id * 7919) % USERS]
                yield (lot_id, code, kind, status, supplier, supplier_lot, made, created, product, site_id, order,
                       made_by_event, history_id, made, "made", "+", who)  # fmt: skip

        n = copy_rows(cur, "workorders_historicallot",
                      ["id", "code", "kind", "status", "supplier", "supplier_lot", "produced_at", "created_at",
                       "product_id", "site_id", "work_order_id", "created_event_id", "history_id", "history_date",
                       "history_change_reason", "history_type", "history_user_id"], history_rows())  # fmt: skip
        log(f"  {n:,} lot history rows in {time.perf_counter() - t:.0f} s")

        # --- genealogy links -----------------------------------------------------------------------
        def link_rows():
            link_id = 0
            for level in range(1, len(LEVELS)):
                below, size = LEVELS[level - 1], LOTS_PER_ORDER[level]
                for i in range(LEVELS[level]):
                    child = first_id[level] + i
                    event = consume_event[order_of[level][i // size]]
                    centre = int((i + 0.5) * below / LEVELS[level])
                    low, high = max(0, centre - WINDOW), min(below - 1, centre + WINDOW)
                    parents = rng.sample(range(low, high + 1), min(rng.choice(FAN_IN), high - low + 1))
                    made = when(level, i)
                    for p in parents:
                        link_id += 1
                        yield (link_id, first_id[level - 1] + p, child, 1, event, made)
                    if level == 1:
                        link_id += 1
                        yield (link_id, bulk_first + i * BULK_LOTS // LEVELS[1], child, 10, event, made)
                    if level == last_level and i in (0, 1):
                        parts = ASSEMBLY_PARTS if i == 0 else LARGE_ASSEMBLY_PARTS
                        stride = LEVELS[0] // parts
                        for k in range(parts):
                            link_id += 1
                            yield (link_id, first_id[0] + k * stride, child, 1, event, made)

        n = copy_rows(cur, "workorders_genealogylink",
                      ["id", "parent_id", "child_id", "quantity", "event_id", "created_at"], link_rows())  # fmt: skip
        log(f"  {n:,} genealogy links in {time.perf_counter() - t:.0f} s")
        for table in ("workorders_workorder", "workorders_workorderoperation", "workorders_productionevent",
                      "workorders_lot", "workorders_genealogylink"):  # fmt: skip
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('workorders_historicallot', 'history_id'),"
            " (SELECT max(history_id) FROM workorders_historicallot))"
        )
    raw.commit() if not raw.autocommit else None
    t = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE") if connection.connection.autocommit else cur.execute("ANALYZE")
    log(f"  analyzed in {time.perf_counter() - t:.0f} s")
    finished = list(range(first_id[last_level], first_id[last_level] + LEVELS[last_level]))
    return {"auditor": auditor.pk, "finished": finished, "finished_min": first_id[last_level], "bulk": [bulk_first + b for b in range(BULK_LOTS)],
            "users": users}  # fmt: skip


def existing_ids() -> dict:
    from mes.models import User
    from workorders.models import Lot

    last = len(LEVELS) - 1
    finished = list(Lot.objects.filter(code__startswith=f"B{last}-").values_list("id", flat=True))
    return {
        "auditor": User.objects.get(username="bench-auditor").pk,
        "finished": finished,
        "finished_min": min(finished),
        "bulk": list(
            Lot.objects.filter(code__startswith="BULK-").order_by("id").values_list("id", flat=True)
        ),
    }


def measure(ids: dict, *, only_traces: bool = False) -> dict:
    from django.db import connection

    from mes.models import User
    from traceability import selectors
    from workorders.models import Lot

    rng = random.Random(7)
    auditor = User.objects.get(pk=ids["auditor"])
    units = list(Lot.objects.filter(pk__in=rng.sample(ids["finished"], SAMPLES)))
    # Warm the caches and the connection the way a running server has them.
    for lot in units[:10]:
        selectors.trace_backward(lot, user=auditor)

    def bare(sql, lot_id):
        with connection.cursor() as cur:
            cur.execute(sql, [lot_id])
            return cur.fetchall()

    def same_sql(direction, lot_id):
        # The very statement the selector runs, with a plain cursor: no objects, no depths.
        sql, params = selectors.trace_sql(direction)
        with connection.cursor() as cur:
            cur.execute(sql, [lot_id, *params])
            return cur.fetchall()

    def timed(work, into: list):
        # Each starts with no garbage of the one before (a collection set off by one trace's
        # objects would otherwise land in the next measurement).
        gc.collect()
        t = time.perf_counter()
        result = work()
        into.append((time.perf_counter() - t) * 1000)
        return result

    back_sql = selectors.bare_walk_sql("backward")
    fwd_sql = selectors.bare_walk_sql("forward")
    selector_ms, bare_ms, walk_ms, sizes = [], [], [], []
    for i, lot in enumerate(units):
        # The first to read a unit reads its pages cold: the selector and its SQL take turns.
        if i % 2:
            timed(lambda lot=lot: same_sql("backward", lot.pk), bare_ms)
        trace = timed(lambda lot=lot: selectors.trace_backward(lot, user=auditor), selector_ms)
        if not i % 2:
            timed(lambda lot=lot: same_sql("backward", lot.pk), bare_ms)
        timed(lambda lot=lot: bare(back_sql, lot.pk), walk_ms)
        sizes.append(len(trace.nodes))
    back = percentiles(selector_ms)
    log(f"backward: p50 {back[50]:.1f} ms, p95 {back[95]:.1f} ms; {min(sizes)}-{max(sizes)} lots per trace;"
        f" its SQL bare p50 {percentiles(bare_ms)[50]:.1f} ms, the walk alone (ids) p50 {percentiles(walk_ms)[50]:.1f} ms")  # fmt: skip

    # Forward: the bulk raw lot reaching the number of finished units closest to 10,000.
    candidates = Lot.objects.filter(pk__in=ids["bulk"][10:40:6])
    best = None
    for lot in candidates:
        reached = sum(
            1 for row in bare(fwd_sql, lot.pk) if row[0] is not None and row[0] >= ids["finished_min"]
        )
        if best is None or abs(reached - 10_000) < abs(best[1] - 10_000):
            best = (lot, reached)
    raw_lot = best[0]
    forward_ms, forward_bare = [], []
    for i in range(4):
        if i % 2:
            timed(lambda: same_sql("forward", raw_lot.pk), forward_bare)
        forward = timed(lambda: selectors.trace_forward(raw_lot, user=auditor), forward_ms)
        if not i % 2:
            timed(lambda: same_sql("forward", raw_lot.pk), forward_bare)
    finished_units = sum(1 for n in forward.affected if n.finished)
    log(f"forward from {raw_lot.code}: {len(forward.nodes):,} lots, {len(forward.edges):,} links, "
        f"{finished_units:,} finished units; median {statistics.median(forward_ms):.0f} ms (bare SQL {statistics.median(forward_bare):.0f} ms)")  # fmt: skip
    ratio_backward = sum(selector_ms) / sum(bare_ms)
    ratio_forward = statistics.median(forward_ms) / statistics.median(forward_bare)
    traces = {
        "backward_p95_ms": round(back[95], 1),
        "forward_10k_ms": round(statistics.median(forward_ms), 1),
        "ratio_to_sql": round(ratio_backward, 2),
        "ratio_to_sql_forward": round(ratio_forward, 2),
    }
    if only_traces:
        return traces

    # The PDFs: the complex assembly (the first finished unit, ~1,000 records in its report) and the
    # big one (the second, ~10,000 records); each in a child process so its peak RSS is its own.
    pdfs = []
    for unit_id in (ids["finished_min"], ids["finished_min"] + 1):
        unit = Lot.objects.get(pk=unit_id)
        pdf = subprocess.run(
            [sys.executable, __file__, "--pdf", unit.code, str(auditor.pk)],
            capture_output=True, text=True, env=os.environ.copy(), cwd=BASE_DIR, timeout=900,
        )  # fmt: skip
        if pdf.returncode != 0:
            raise SetupFailed(f"the PDF child failed: {pdf.stderr[-2000:]}")
        pdfs.append(json.loads(pdf.stdout.strip().splitlines()[-1]))
        log(f"PDF of {unit.code}: {pdfs[-1]['records']:,} records, {pdfs[-1]['pages']} pages, "
            f"{pdfs[-1]['pdf_s']:.2f} s, peak RSS {pdfs[-1]['peak_rss_mb']:.0f} MB")  # fmt: skip
    pdf_result, big_pdf = pdfs

    # The audit trail: one person's changes to lots in one month, first page.
    from traceability.audit import AuditFilter, audit_entries

    audit_ms = []
    for n in range(5):
        flt = AuditFilter(model="workorders.lot", user=f"bench-op-{n}", start="2025-06-01", end="2025-06-30")
        t = time.perf_counter()
        page = audit_entries(flt, limit=50, offset=0)
        audit_ms.append((time.perf_counter() - t) * 1000)
    log(f"audit filter: {len(page)} entries on the first page; median {sorted(audit_ms)[2]:.0f} ms")
    return {
        **traces,
        "pdf_s": round(pdf_result["pdf_s"], 2),
        "pdf_peak_rss_mb": round(pdf_result["peak_rss_mb"], 1),
        "pdf_10k_s": round(big_pdf["pdf_s"], 2),
        "pdf_10k_records": big_pdf["records"],
        "pdf_rss_ratio": round(big_pdf["peak_rss_mb"] / pdf_result["peak_rss_mb"], 2),
        "audit_filter_ms": round(sorted(audit_ms)[2], 1),
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory. Not getrusage's ru_maxrss: Linux carries that over an
    exec from the forking parent, so a child would report the bench process's own peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise SetupFailed("no VmHWM in /proc/self/status")


def pdf_child(code: str, user_id: str) -> None:
    """Build one trace PDF (the whole report: trace, context, PDF) and print time and peak RSS."""
    import io

    import django
    from pypdf import PdfReader

    django.setup()
    from mes.models import User
    from traceability.reports import trace
    from traceability.selectors import lot_for_trace

    user = User.objects.get(pk=int(user_id))
    t = time.perf_counter()
    doc = trace.trace_document(lot=lot_for_trace(user=user, code=code), direction="backward", user=user)
    built = trace.build_pdf(doc)
    seconds = time.perf_counter() - t
    peak = peak_rss_mb()  # before the counting below, which is the bench's, not the report's
    records = sum(1 for _ in trace.csv_rows(doc.data))
    pages = len(PdfReader(io.BytesIO(built.content)).pages)
    print(json.dumps({"pdf_s": seconds, "peak_rss_mb": peak, "records": records, "pages": pages}))


def database_name(argv: list[str]) -> str:
    """The bench's own database: `--database NAME`, else `mes_bench_genealogy`."""
    if "--database" in argv and argv.index("--database") + 1 < len(argv):
        return argv[argv.index("--database") + 1]
    return DATABASE


def only(argv: list[str]) -> str | None:
    """`--only traces`: what part alone to measure, else None (everything)."""
    if "--only" in argv and argv.index("--only") + 1 < len(argv):
        return argv[argv.index("--only") + 1]
    return None


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--pdf":
        pdf_child(sys.argv[2], sys.argv[3])
        return 0
    database = database_name(sys.argv)
    try:
        started = time.perf_counter()
        log(f"cpu probe {cpu_speed_probe():.0f} ms, load {load_average()}")
        if "--reuse" in sys.argv:  # measure again on the database the last run built
            setup_django(database_url(database), migrate=False)
            ids = existing_ids()
        else:
            db_url = recreate_database(database)
            setup_django(db_url)
            log(f"building {sum(LEVELS) + BULK_LOTS:,} lots ...")
            ids = build(db_url)
        log(f"built in {time.perf_counter() - started:.0f} s")
        result = measure(ids, only_traces=only(sys.argv) == "traces")
    except SetupFailed as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 2
    missed = [k for k, limit in TARGETS.items() if k in result and result[k] > limit]
    log(f"targets: {TARGETS}; missed: {missed or 'none'}")
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
