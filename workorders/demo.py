"""The production part of the demo plant: reason codes, products and BOMs, routings, work orders in
every status and the last hours of production on the floor.

Master data is looked up by its natural keys and only added where missing. The orders and their
history are written once, through the same services a tablet and a supervisor use: the orders are
created, released, held, closed and cancelled by the demo supervisor, and the operators' taps
(start, good and scrap counts, pauses, downtime) are replayed with the times they were made.

The services accept taps up to a day old (`ledger.MAX_BACKDATE`), so the history covers the last
`HISTORY_HOURS` hours only. It follows the site's shift calendar; when the calendar has (almost) no
shift in that window, a weekend say, the history runs as weekend overtime instead so the boards are
never empty. Order status changes can't be backdated: releases, holds, closes and cancellations
carry the time of seeding.

The floor is simulated in plain Python first (`plan_history`), with a seeded random generator, and
only then written, in time order, so every workstation's events are increasing in time and a
downstream operation never counts more than its upstream operation has made.
"""

from __future__ import annotations

import bisect
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from mes.demo import DEMO_SITE, SECOND_SITE, register_seeder
from mes.models import Site, User, Workstation
from mes.selectors import shift_windows
from workorders import services
from workorders.gs1 import gs1_check_digit
from workorders.models import BomLine, Lot, Product, ReasonCode, Routing, RoutingOperation, WorkOrder
from workorders.states import Loss, LotScope, LotStatus, ReasonKind, Tracking, WorkOrderStatus

S = WorkOrderStatus
SEED = 2026
HISTORY_HOURS = 8  # the ledger refuses taps older than 24 h; each tap costs a few ms
HISTORY_END_MARGIN = 90  # seconds before seeding at which the history stops
MIN_SHIFT_HOURS = 3  # less shift time than this in the window: run the history as overtime
OPERATORS = ("operator", "operator2")
SUPERVISOR = "supervisor"
ADMIN = "admin"

# code, name, kind, loss, planned
REASONS = [
    ("SCRATCH", "Scratched or dented surface", ReasonKind.SCRAP, "", False),
    ("DIM-OOT", "Dimension out of tolerance", ReasonKind.SCRAP, "", False),
    ("BURR", "Burr left on edge", ReasonKind.SCRAP, "", False),
    ("MISSING-PART", "Missing or wrong part", ReasonKind.SCRAP, "", False),
    ("LEAK", "Failed pressure or leak test", ReasonKind.SCRAP, "", False),
    ("LABEL-ERR", "Wrong or unreadable label", ReasonKind.SCRAP, "", False),
    ("BREAK", "Break", ReasonKind.PAUSE, "", False),
    ("MATERIAL", "Waiting for material", ReasonKind.PAUSE, "", False),
    ("SHIFT-HANDOVER", "Shift handover", ReasonKind.PAUSE, "", False),
    ("QC-WAIT", "Waiting for quality", ReasonKind.PAUSE, "", False),
    ("BREAKDOWN", "Breakdown", ReasonKind.DOWNTIME, Loss.BREAKDOWN, False),
    ("TOOL-CHANGE", "Unplanned tool change", ReasonKind.DOWNTIME, Loss.SETUP, False),
    ("JAM", "Jam or minor stop", ReasonKind.DOWNTIME, Loss.SMALL_STOP, False),
    ("SLOW", "Running below rated speed", ReasonKind.DOWNTIME, Loss.REDUCED_SPEED, False),
    ("PM", "Planned maintenance", ReasonKind.DOWNTIME, Loss.SETUP, True),
    ("CLEANING", "Planned cleaning", ReasonKind.DOWNTIME, Loss.SETUP, True),
    ("QHOLD", "Quality hold", ReasonKind.HOLD, "", False),
    ("CUSTOMER-HOLD", "Held at the customer's request", ReasonKind.HOLD, "", False),
]

# part number, name, unit, tracking
PRODUCTS = [
    ("FG-100", "Hydraulic gear pump", "pcs", Tracking.SERIAL),
    ("HSG-10", "Pump housing", "pcs", Tracking.LOT),
    ("SHF-20", "Drive shaft", "pcs", Tracking.LOT),
    ("SEAL-5", "Seal kit", "pcs", Tracking.LOT),
    ("PKG-1", "Carton", "pcs", Tracking.LOT),
    ("SPK-100", "Seal service kit", "pcs", Tracking.LOT),
    ("RAW-AL6061", "Aluminium bar 6061 Ø80", "kg", Tracking.LOT),
    ("RAW-STEEL42", "Steel bar 42CrMo4 Ø30", "kg", Tracking.LOT),
]
# GS1 company prefix of the demo plant (a 7-digit prefix under the German GS1 range 400-440).
GS1_COMPANY_PREFIX = "4012345"
# part number: (GS1 item reference, numbering prefix, lot scope); bought parts carry the supplier's.
LABELS = {
    "FG-100": ("10001", "P", LotScope.ORDER),
    "HSG-10": ("20010", "H", LotScope.SHIFT),
    "SHF-20": ("20020", "S", LotScope.ORDER),
    "SPK-100": ("10100", "K", LotScope.ORDER),
}


def demo_gtin(item_reference: str) -> str:
    digits = GS1_COMPANY_PREFIX + item_reference
    return digits + str(gs1_check_digit(digits))


# Supplier lots in stores when the history starts: part, supplier, supplier lot, quantity.
RECEIPTS = [
    ("RAW-AL6061", "Alu Walzwerk GmbH", "AW-24-1187", "480"),
    ("RAW-AL6061", "Alu Walzwerk GmbH", "AW-24-1203", "520"),
    ("RAW-STEEL42", "Stahlhandel Ruhr AG", "SR-88412", "300"),
    ("SEAL-5", "SealTec s.r.o.", "ST-7730", "400"),
    ("SEAL-5", "SealTec s.r.o.", "ST-7741", "400"),
    ("PKG-1", "Kartonagen Mayer", "KM-0932", "600"),
    # Housings and shafts made before the history, booked to stock.
    ("HSG-10", "", "", "60"),
    ("SHF-20", "", "", "60"),
]
# Material is scanned in boxes: enough for this many units of the order at a time.
CONSUME_UNITS_AHEAD = 10

# product: [(component, quantity per unit)]
BOM = {
    "FG-100": [("HSG-10", "1"), ("SHF-20", "1"), ("SEAL-5", "1"), ("PKG-1", "1")],
    "HSG-10": [("RAW-AL6061", "1.350")],
    "SHF-20": [("RAW-STEEL42", "0.620")],
    "SPK-100": [("SEAL-5", "2"), ("PKG-1", "1")],
}


@dataclass(frozen=True)
class Step:
    sequence: int
    name: str
    workstation: str
    setup_seconds: int
    ideal_cycle_seconds: int
    scrap_rate: float  # share of units scrapped in the history
    scrap_reasons: tuple[str, ...]


MACHINING_SCRAP = ("SCRATCH", "DIM-OOT", "BURR", "DIM-OOT")
# (product, code): (name, steps)
ROUTINGS: dict[tuple[str, str], tuple[str, list[Step]]] = {
    ("HSG-10", "STD"): (
        "Housing: turn and mill",
        [
            Step(10, "Turn housing", "CNC1", 900, 95, 0.045, MACHINING_SCRAP),
            Step(20, "Mill ports and flange", "MILL1", 1200, 80, 0.04, MACHINING_SCRAP),
        ],
    ),
    ("SHF-20", "STD"): (
        "Shaft: turn and groove",
        [Step(10, "Turn and groove shaft", "CNC2", 600, 60, 0.045, MACHINING_SCRAP)],
    ),
    ("FG-100", "STD"): (
        "Pump: assemble, test, pack",
        [
            Step(10, "Assemble pump", "ASM1", 300, 115, 0.03, ("MISSING-PART", "SCRATCH")),
            Step(20, "Pressure and leak test", "TEST1", 180, 50, 0.045, ("LEAK",)),
            Step(30, "Pack and label", "PACK1", 120, 45, 0.02, ("LABEL-ERR", "SCRATCH")),
        ],
    ),
    ("FG-100", "ASM2"): (
        "Pump: assemble on bench 2, test, pack",
        [
            Step(10, "Assemble pump", "ASM2", 300, 120, 0.03, ("MISSING-PART", "SCRATCH")),
            Step(20, "Pressure and leak test", "TEST1", 180, 50, 0.045, ("LEAK",)),
            Step(30, "Pack and label", "PACK1", 120, 45, 0.02, ("LABEL-ERR", "SCRATCH")),
        ],
    ),
    ("SPK-100", "STD"): (
        "Service kit: kit and label",
        [
            Step(10, "Kit and bag seals", "PACK1", 120, 45, 0.015, ("MISSING-PART",)),
            Step(20, "Label kit", "LABEL1", 60, 30, 0.03, ("LABEL-ERR",)),
        ],
    ),
}
# Upstream stations are simulated first: a downstream operation counts what they made.
STATION_ORDER = ["CNC1", "CNC2", "MILL1", "ASM1", "ASM2", "TEST1", "PACK1", "LABEL1"]
LINE_OF_STATION = {
    "CNC1": "MACH",
    "CNC2": "MACH",
    "MILL1": "MACH",
    "ASM1": "ASSY",
    "ASM2": "ASSY",
    "TEST1": "ASSY",
    "PACK1": "PACK",
    "LABEL1": "PACK",
}


@dataclass(frozen=True)
class DemoOrder:
    number: str
    product: str
    routing: str
    quantity: int | None  # None: sized after the history so that it is still running
    status: str  # where the demo leaves it
    due_days: float
    history: bool = False  # runs on the floor in the history
    hold_at: float | None = None  # share of the working time at which quality stops it
    over_by: int = 0  # its last count goes over the quantity by this, allowed by the supervisor


ORDERS = [
    DemoOrder("WO-26101", "HSG-10", "STD", 30, S.COMPLETED, -0.5, history=True),
    DemoOrder("WO-26102", "SHF-20", "STD", 40, S.CLOSED, -1, history=True, over_by=2),
    DemoOrder("WO-26103", "FG-100", "STD", 12, S.CLOSED, -0.5, history=True),
    DemoOrder("WO-26104", "SPK-100", "STD", 50, S.COMPLETED, 0.5, history=True),
    DemoOrder("WO-26105", "HSG-10", "STD", None, S.IN_PROGRESS, 1, history=True),
    DemoOrder("WO-26106", "SHF-20", "STD", None, S.ON_HOLD, 1, history=True, hold_at=0.55),
    DemoOrder("WO-26107", "SHF-20", "STD", None, S.IN_PROGRESS, 2, history=True),
    DemoOrder("WO-26108", "FG-100", "STD", None, S.IN_PROGRESS, 1.5, history=True),
    DemoOrder("WO-26109", "FG-100", "ASM2", None, S.IN_PROGRESS, 2, history=True),
    DemoOrder("WO-26110", "SPK-100", "STD", None, S.IN_PROGRESS, 1, history=True),
    DemoOrder("WO-26111", "HSG-10", "STD", 60, S.RELEASED, 3),
    DemoOrder("WO-26112", "FG-100", "STD", 40, S.RELEASED, 4),
    DemoOrder("WO-26113", "SHF-20", "STD", 80, S.RELEASED, 3),
    DemoOrder("WO-26114", "FG-100", "ASM2", 30, S.DRAFT, 7),
    DemoOrder("WO-26115", "SPK-100", "STD", 100, S.DRAFT, 10),
    DemoOrder("WO-26116", "HSG-10", "STD", 25, S.CANCELLED, 5),
    DemoOrder("WO-26117", "FG-100", "STD", 20, S.CANCELLED, 6),
]
CLOSE_NOTE = "Booked to stock"
HOLDS = {  # order: (hold reason, note, release note or None to stay on hold)
    "WO-26106": ("QHOLD", "Shaft Ø out of tolerance on CNC2: 100 % check of the lot", None),
    "WO-26112": ("CUSTOMER-HOLD", "Customer to confirm drawing revision C", "Revision C confirmed"),
}
CANCELS = {  # order: (reason, released before it was cancelled)
    "WO-26116": ("Duplicate of WO-26111", False),
    "WO-26117": ("Customer cancelled the order", True),
}

# station, share of the working time (None: just before the end, left open), reason, minutes, note
DOWNTIMES = [
    ("CNC1", 0.36, "TOOL-CHANGE", 18, "Roughing insert broke, tool changed"),
    ("CNC2", 0.22, "JAM", 6, "Chip jam at the conveyor"),
    ("CNC2", 0.68, "BREAKDOWN", 42, "Hydraulic chuck pressure alarm"),
    ("MILL1", 0.12, "PM", 45, "Weekly spindle and coolant check"),
    ("MILL1", None, "BREAKDOWN", None, "Spindle overheating alarm, maintenance called"),
    ("ASM1", 0.41, "JAM", 4, "Press-fit fixture stuck"),
    ("ASM1", 0.74, "JAM", 7, "Bearing feeder jammed"),
    ("ASM2", 0.52, "SLOW", 25, "Nutrunner slow, torque checks every piece"),
    ("TEST1", 0.66, "BREAKDOWN", 28, "Leak sensor fault, recalibrated"),
    ("PACK1", 0.18, "JAM", 5, "Carton erector jam"),
    ("PACK1", 0.47, "JAM", 3, "Carton erector jam"),
    ("PACK1", 0.83, "JAM", 6, "Tape head jam"),
    ("LABEL1", 0.58, "CLEANING", 20, "Print head cleaning"),
]
OPEN_DOWNTIME_BEFORE_END = 25 * 60
# station, share of the working time, minutes, note
MATERIAL_WAITS = [
    ("ASM2", 0.30, 18, "Waiting for seal kits from stores"),
    ("PACK1", 0.64, 12, "Cartons low, waiting for a pallet"),
]
BATCHES = (1, 2, 3, 3, 4, 4, 5, 5)  # units an operator counts at once
STARVED_PAUSE_AFTER = 12 * 60  # an operation left waiting longer than this is paused for material
LOCAL_SHIFT_STARTS = (6, 14, 22)  # hand-overs; also the shift blocks of weekend overtime
BREAK_AFTER = 4 * 3600  # a break about four hours into a shift
LIVE_AT_END = 5 * 60  # no break or hand-over still going on when the history ends


# --- master data ---------------------------------------------------------------------------------


def seed_master_data(say: Callable[[str], None]) -> dict[tuple[str, str], Routing]:
    """Add the reason codes, products, BOM lines and routings that are missing, as the demo admin."""
    admin = User.objects.get(username=ADMIN)

    def _ensure(model, lookup: dict, defaults: dict, label: str):
        obj = model.objects.filter(**lookup).first()
        if obj is None:
            obj = services.master_data_save(
                instance=model(**lookup, **defaults), user=admin, reason="Demo plant"
            )
            say(label)
        return obj

    for code, name, kind, loss, planned in REASONS:
        _ensure(
            ReasonCode,
            {"code": code},
            {"name": name, "kind": kind, "loss": loss, "planned": planned},
            f"reason {code}",
        )

    def labels(pn: str) -> dict:
        if pn not in LABELS:
            return {}
        item, prefix, scope = LABELS[pn]
        return {"gtin": demo_gtin(item), "number_prefix": prefix, "lot_scope": scope}

    products = {
        pn: _ensure(
            Product,
            {"part_number": pn},
            {"name": name, "unit": unit, "tracking": tracking, **labels(pn)},
            f"product {pn}",
        )
        for pn, name, unit, tracking in PRODUCTS
    }
    for product, components in BOM.items():
        for component, quantity in components:
            _ensure(
                BomLine,
                {"product": products[product], "component": products[component]},
                {"quantity": Decimal(quantity)},
                f"BOM {product} <- {component}",
            )
    stations = {ws.code: ws for ws in Workstation.objects.filter(line__site__code=DEMO_SITE)}
    routings = {}
    for (product, code), (name, steps) in ROUTINGS.items():
        routing = _ensure(
            Routing,
            {"product": products[product], "code": code},
            {"name": name},
            f"routing {product}/{code}",
        )
        for step in steps:
            _ensure(
                RoutingOperation,
                {"routing": routing, "sequence": step.sequence},
                {
                    "name": step.name,
                    "workstation": stations[step.workstation],
                    "setup_seconds": step.setup_seconds,
                    "ideal_cycle_seconds": Decimal(step.ideal_cycle_seconds),
                },
                f"operation {product}/{code}/{step.sequence}",
            )
        routings[(product, code)] = routing
    return routings


# --- the floor, simulated ------------------------------------------------------------------------


@dataclass
class Action:
    """One operator tap of the history, at `at` seconds after the history's start."""

    at: float
    seq: int
    kind: str  # start, good, scrap, pause, resume, downtime_start, downtime_end
    station: str
    user: str
    order: str = ""
    sequence: int = 0
    quantity: int = 0
    reason: str = ""
    note: str = ""
    override: bool = False


@dataclass
class Job:
    """An operation of an order at a workstation, as the simulation sees it."""

    order: str
    step: Step
    target: int | None  # the order quantity; None: more than the history makes
    upstream: Job | None
    scrap_rate: float
    over_by: int = 0  # the last count goes over the quantity by this, allowed by the supervisor
    batch: int = 1  # units the operator counts at once next
    started: bool = False
    running: bool = False
    done: bool = False
    stopped: bool = False
    good: int = 0
    scrap: int = 0
    times: list[float] = field(default_factory=list)  # when good was counted ...
    totals: list[int] = field(default_factory=list)  # ... and the good total after it

    def made_by(self, t: float) -> int:
        i = bisect.bisect_right(self.times, t)
        return self.totals[i - 1] if i else 0

    @property
    def open(self) -> bool:
        return not (self.done or self.stopped)

    def available(self, t: float) -> float:
        """Units the upstream operation has made by `t` that this one has not taken yet."""
        if self.upstream is None:
            return math.inf
        return self.upstream.made_by(t) - self.good - self.scrap

    def wanted(self) -> int:
        """Units the next count takes: a batch, less if the order or the upstream runs out."""
        want = self.batch if self.target is None else min(self.batch, self.target - self.good)
        if self.upstream is not None and not self.upstream.open:
            want = min(want, max(1, self.upstream.good - self.good - self.scrap))
        return want

    def ready(self, t: float) -> bool:
        return self.open and self.available(t) >= self.wanted()

    def next_supply(self, t: float) -> float:
        """When the upstream operation will have made enough for the next count."""
        if self.upstream is None:
            return t
        i = bisect.bisect_left(self.upstream.totals, self.good + self.scrap + self.wanted())
        return max(t, self.upstream.times[i]) if i < len(self.upstream.times) else math.inf


@dataclass(order=True)
class Interrupt:
    at: float
    seq: int
    kind: str = field(compare=False)  # pause, downtime, stop
    reason: str = field(compare=False, default="")
    seconds: float | None = field(compare=False, default=None)
    note: str = field(compare=False, default="")
    job: Job | None = field(compare=False, default=None)


@dataclass
class Plan:
    start: datetime
    end: datetime
    overtime: bool
    actions: list[Action]
    jobs: list[Job]
    work_seconds: float

    def quantity_of(self, order: DemoOrder, rng: random.Random) -> int:
        """The order's quantity: as specified, or comfortably more than its history made."""
        if order.quantity is not None:
            return order.quantity
        made = max((j.good + j.scrap for j in self.jobs if j.order == order.number), default=0)
        if made == 0:
            return 120
        return max(made + 10, math.ceil(made * rng.uniform(1.3, 1.8) / 10) * 10)


class _Floor:
    def __init__(self, site: Site, now: datetime, rng: random.Random):
        self.rng = rng
        self.tz = site.tzinfo
        self.start = now - timedelta(hours=HISTORY_HOURS)
        self.end_at = now - timedelta(seconds=HISTORY_END_MARGIN)
        self.end = (self.end_at - self.start).total_seconds()
        self.actions: list[Action] = []
        self._seq = 0
        windows = shift_windows(site, self.start, self.end_at)
        spans: list[list[float]] = []
        for w in windows:
            a, b = self._secs(w.start), self._secs(w.end)
            if spans and a <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], b)
            else:
                spans.append([a, b])
        self.overtime = sum(b - a for a, b in spans) < MIN_SHIFT_HOURS * 3600
        self.spans = [(0.0, self.end)] if self.overtime else [(a, b) for a, b in spans]
        self.work_seconds = sum(b - a for a, b in self.spans)
        self.shift_starts = self._local_shift_starts()

    def _secs(self, at: datetime) -> float:
        return (at - self.start).total_seconds()

    def _local_shift_starts(self) -> list[float]:
        day = self.start.astimezone(self.tz).date() - timedelta(days=1)
        last = self.end_at.astimezone(self.tz).date()
        starts = []
        while day <= last:
            for hour in LOCAL_SHIFT_STARTS:
                local = datetime.combine(day, datetime.min.time(), tzinfo=self.tz).replace(hour=hour)
                starts.append(self._secs(local.astimezone(UTC)))
            day += timedelta(days=1)
        return sorted(starts)

    def working_at(self, t: float) -> bool:
        return any(a <= t < b for a, b in self.spans)

    def at_share(self, share: float) -> float:
        """The time at which `share` of the working time has passed."""
        left = share * self.work_seconds
        for a, b in self.spans:
            if left <= b - a:
                return a + left
            left -= b - a
        return self.spans[-1][1]

    def user_at(self, station: str, t: float) -> str:
        hour = (self.start + timedelta(seconds=t)).astimezone(self.tz).hour
        shift = 0 if 6 <= hour < 14 else 1 if 14 <= hour < 22 else 2
        line = 1 if LINE_OF_STATION[station] == "ASSY" else 0
        return OPERATORS[(shift + line) % 2]

    def emit(
        self, t: float, kind: str, station: str, job: Job | None = None, *, by_time=None, **fields
    ) -> None:
        """Record a tap at `t`, made by the operator of the shift at `by_time` (default `t`)."""
        self._seq += 1
        if job is not None:
            fields.update(order=job.order, sequence=job.step.sequence)
        user = self.user_at(station, t if by_time is None else by_time)
        self.actions.append(Action(at=t, seq=self._seq, kind=kind, station=station, user=user, **fields))

    # Interrupts of a station: breaks, hand-overs, material waits, downtime, quality stops.
    def interrupts(self, station: str, index: int, jobs: list[Job]) -> list[Interrupt]:
        rng, out = self.rng, []
        stagger = index * 150.0

        def add(at: float, kind: str, **kw) -> None:
            if kind == "pause" and at + kw["seconds"] > self.end - LIVE_AT_END:
                return  # the floor is at work when the demo opens
            if 0 <= at < self.end and self.working_at(at):
                out.append(Interrupt(at, len(out), kind, **kw))

        for shift_start in self.shift_starts:
            if self.working_at(shift_start - 1) and self.working_at(shift_start + 1):
                handover = shift_start + rng.uniform(0, 120)
                add(
                    handover, "pause", reason="SHIFT-HANDOVER", seconds=rng.uniform(240, 600), note="Handover"
                )
            break_at = shift_start + BREAK_AFTER + stagger + rng.uniform(-600, 600)
            add(break_at, "pause", reason="BREAK", seconds=rng.uniform(1200, 1800))
        for code, share, reason, minutes, note in DOWNTIMES:
            if code != station:
                continue
            if share is None:
                at = self.spans[-1][1] - OPEN_DOWNTIME_BEFORE_END
                add(at, "downtime", reason=reason, seconds=None, note=note)
            else:
                seconds = minutes * 60 * rng.uniform(0.8, 1.2)
                add(self.at_share(share), "downtime", reason=reason, seconds=seconds, note=note)
        for code, share, minutes, note in MATERIAL_WAITS:
            if code == station:
                add(self.at_share(share), "pause", reason="MATERIAL", seconds=minutes * 60, note=note)
        for job in jobs:
            order = next(o for o in ORDERS if o.number == job.order)
            if order.hold_at is not None:
                add(self.at_share(order.hold_at), "stop", job=job)
        return sorted(out)

    def pause_running(
        self, t: float, station: str, jobs: list[Job], reason: str, note: str = "", by_time=None
    ) -> float:
        for job in jobs:
            if job.running:
                self.emit(t, "pause", station, job, reason=reason, note=note, by_time=by_time)
                job.running = False
                t += self.rng.uniform(2, 15)
        return t

    def simulate(self, station: str, index: int, jobs: list[Job]) -> None:
        rng = self.rng
        interrupts = self.interrupts(station, index, jobs)
        spans = list(self.spans)
        t = spans[0][0] + rng.uniform(120, 900)
        current: Job | None = None
        while True:
            while spans and t >= spans[0][1]:
                span_end = spans.pop(0)[1]
                if span_end < self.end:  # no shift follows at once: stop until the next one
                    t = self.pause_running(
                        max(t, span_end),
                        station,
                        jobs,
                        "SHIFT-HANDOVER",
                        "End of shift",
                        by_time=span_end - 60,
                    )
                if spans:
                    t = max(t, spans[0][0] + rng.uniform(120, 900))
            if not spans or t >= self.end:
                return
            t = max(t, spans[0][0])
            if interrupts and interrupts[0].at <= t:
                t = self.interrupt(t, station, jobs, interrupts.pop(0))
                if t == math.inf:
                    return
                continue
            job = next((j for j in jobs if j.ready(t)), None)
            if job is None:  # nothing to work on: wait for the upstream station
                supply = min((j.next_supply(t) for j in jobs if j.open), default=math.inf)
                wake = min(supply, interrupts[0].at if interrupts else math.inf, spans[0][1])
                if wake == math.inf:
                    return
                if current is not None and current.running and supply - t > STARVED_PAUSE_AFTER:
                    at = min(t + rng.uniform(60, 240), wake)
                    self.emit(at, "pause", station, current, reason="MATERIAL", note="Waiting for parts")
                    current.running = False
                t = max(t, wake)
                continue
            current = job
            if not job.started:
                self.emit(t, "start", station, job)
                job.started = job.running = True
                t += job.step.setup_seconds * rng.uniform(0.85, 1.25)
                continue
            if not job.running:
                self.emit(t, "resume", station, job)
                job.running = True
                t += rng.uniform(20, 90)
            t = self.count(t, station, job, interrupts, min(spans[0][1], self.end))

    def count(self, t: float, station: str, job: Job, interrupts: list[Interrupt], until: float) -> float:
        """Make and count the job's next batch; returns when the station is free again."""
        rng = self.rng
        n = job.wanted()
        done_at = t + n * job.step.ideal_cycle_seconds * rng.uniform(1.04, 1.3)
        if interrupts and interrupts[0].at < done_at:
            return interrupts[0].at  # the batch is interrupted; it is counted after the interruption
        if done_at > until:
            return until  # the shift or the history ends first
        scrap = sum(rng.random() < job.scrap_rate for _ in range(n))
        good = n - scrap
        override = False
        if job.target is not None and good and job.good + good >= job.target and job.over_by:
            good, override = good + job.over_by, True
        if good:
            self.emit(done_at, "good", station, job, quantity=good, override=override)
            job.good += good
            job.times.append(done_at)
            job.totals.append(job.good)
        if scrap:
            done_at = min(done_at + rng.uniform(5, 40), self.end)
            reason = rng.choice(job.step.scrap_reasons)
            self.emit(done_at, "scrap", station, job, quantity=scrap, reason=reason)
            job.scrap += scrap
        if job.target is not None and job.good >= job.target:
            job.done, job.running = True, False
        job.batch = rng.choice(BATCHES)
        return done_at

    def interrupt(self, t: float, station: str, jobs: list[Job], event: Interrupt) -> float:
        if event.kind == "pause":
            if t > event.at + event.seconds:
                return t  # overtaken by a downtime or the like: it would be over already
            if event.reason == "MATERIAL" and not any(j.running for j in jobs):
                return t
            t = self.pause_running(t, station, jobs, event.reason, event.note)
            return t + event.seconds
        if event.kind == "downtime":
            if event.seconds is not None and t + event.seconds > self.end:
                return t  # would not end before the history does: skip it
            self.emit(t, "downtime_start", station, reason=event.reason, note=event.note)
            if event.seconds is None:
                return math.inf  # left open: the station stands still until now
            t += event.seconds
            self.emit(t, "downtime_end", station)
            return t
        job = event.job  # stop: quality finds parts out of tolerance and stops the order
        if job.started and not job.done:
            self.emit(t, "scrap", station, job, quantity=2, reason="DIM-OOT", note="Ø 30.06 mm, USL 30.04 mm")
            job.scrap += 2
            if job.running:
                t += 30
                self.emit(
                    t, "pause", station, job, reason="QC-WAIT", note="Lot quarantined for a 100 % check"
                )
                job.running = False
        job.stopped = True
        return t


def plan_history(site: Site, now: datetime, rng: random.Random) -> Plan:
    """Simulate the floor over the last hours before `now`; pure Python, nothing is written."""
    floor = _Floor(site, now, rng)
    by_station: dict[str, list[Job]] = {code: [] for code in STATION_ORDER}
    jobs: list[Job] = []
    for order in ORDERS:
        if not order.history:
            continue
        upstream = None
        steps = ROUTINGS[(order.product, order.routing)][1]
        for i, step in enumerate(steps):
            # Scrap after the first operation would leave a fixed-size order short for good.
            rate = step.scrap_rate if order.quantity is None or i == 0 else 0.0
            over_by = order.over_by if i == len(steps) - 1 else 0
            job = Job(order.number, step, order.quantity, upstream, rate, over_by, batch=rng.choice(BATCHES))
            by_station[step.workstation].append(job)
            jobs.append(job)
            upstream = job
    for index, station in enumerate(STATION_ORDER):
        floor.simulate(station, index, by_station[station])
    actions = sorted(floor.actions, key=lambda a: (a.at, a.seq))
    return Plan(floor.start, floor.end_at, floor.overtime, actions, jobs, floor.work_seconds)


# --- writing it through the services -------------------------------------------------------------


def _transition(order: WorkOrder, target: str, user: User, **kw) -> None:
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
            _transition(order, S.RELEASED, supervisor)
        orders[spec.number] = order
    events = _replay(plan, orders)
    for spec in ORDERS:
        order = WorkOrder.objects.get(number=spec.number)
        if spec.number in HOLDS:
            reason_code, note, release = HOLDS[spec.number]
            _transition(order, S.ON_HOLD, supervisor, reason=note, reason_code=reason_code)
            if release:
                services.workorder_release_hold(
                    work_order_id=order.pk, user=supervisor, key=uuid.uuid4(), reason=release
                )
        elif spec.number in CANCELS:
            _transition(order, S.CANCELLED, supervisor, reason=CANCELS[spec.number][0])
        elif spec.status == S.CLOSED and order.status == S.COMPLETED:
            _transition(order, S.CLOSED, supervisor, reason=CLOSE_NOTE)
    say(
        f"{len(ORDERS)} work orders, {events} taps over {plan.work_seconds / 3600:.1f} working hours "
        f"({plan.start:%a %H:%M} to {plan.end:%a %H:%M} UTC)"
    )


register_seeder(20, "production", seed_production)


# --- the second site: a handful of orders and a few hours of taps, written straight away ---------

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
            _transition(order, S.RELEASED, supervisor)
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
            _transition(order, S.CLOSED, supervisor, reason=CLOSE_NOTE)
    say(f"{SECOND_SITE}: {len(SECOND_ORDERS)} work orders, {len(SECOND_TAPS)} taps")


register_seeder(25, "second site", seed_second_site)
