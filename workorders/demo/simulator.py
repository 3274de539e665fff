"""The floor over the last hours, simulated in plain Python with a seeded random generator.

`plan_history` returns the operators' taps in time order, so every workstation's events are
increasing in time and a downstream operation never counts more than its upstream operation has
made; `replay` then writes them. It follows the site's shift calendar; when the calendar has
(almost) no shift in the window, a weekend say, the history runs as weekend overtime instead so
the boards are never empty.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mes.models import Site
from mes.selectors import shift_windows
from workorders.demo.data import (
    DOWNTIMES,
    LINE_OF_STATION,
    MATERIAL_WAITS,
    OPERATORS,
    ORDERS,
    ROUTINGS,
    STATION_ORDER,
    DemoOrder,
    Step,
)

HISTORY_HOURS = 8  # the ledger refuses taps older than 24 h; each tap costs a few ms
HISTORY_END_MARGIN = 90  # seconds before seeding at which the history stops
MIN_SHIFT_HOURS = 3  # less shift time than this in the window: run the history as overtime
OPEN_DOWNTIME_BEFORE_END = 25 * 60
BATCHES = (1, 2, 3, 3, 4, 4, 5, 5)  # units an operator counts at once
STARVED_PAUSE_AFTER = 12 * 60  # an operation left waiting longer than this is paused for material
LOCAL_SHIFT_STARTS = (6, 14, 22)  # hand-overs; also the shift blocks of weekend overtime
BREAK_AFTER = 4 * 3600  # a break about four hours into a shift
LIVE_AT_END = 5 * 60  # no break or hand-over still going on when the history ends


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
