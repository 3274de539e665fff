"""Lifecycles of work orders and their operations, as data: the states and the allowed moves."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from mes.transitions import Transitions


class WorkOrderStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    RELEASED = "released", _("Released")
    IN_PROGRESS = "in_progress", _("In progress")
    ON_HOLD = "on_hold", _("On hold")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


S = WorkOrderStatus
WORK_ORDER_TRANSITIONS = Transitions(
    S,
    {
        S.DRAFT: {S.RELEASED, S.CANCELLED},
        S.RELEASED: {S.IN_PROGRESS, S.ON_HOLD, S.CANCELLED},
        S.IN_PROGRESS: {S.ON_HOLD, S.COMPLETED},
        S.ON_HOLD: {S.RELEASED, S.IN_PROGRESS, S.CANCELLED},
        S.COMPLETED: {S.CLOSED},
        S.CLOSED: set(),
        S.CANCELLED: set(),
    },
)
# Orders whose operations appear in workstation queues and accept production.
WORKABLE = {S.RELEASED, S.IN_PROGRESS}
# Orders still open on the supervisor board.
OPEN = {S.DRAFT, S.RELEASED, S.IN_PROGRESS, S.ON_HOLD, S.COMPLETED}


can_transition = WORK_ORDER_TRANSITIONS.allowed


class OperationStatus(models.TextChoices):
    PENDING = "pending", _("Not started")
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    DONE = "done", _("Done")


class EventKind(models.TextChoices):
    ORDER_STATUS = "order_status", _("Order status changed")
    START = "start", _("Operation started")
    PAUSE = "pause", _("Operation paused")
    RESUME = "resume", _("Operation resumed")
    # Good units counted at an operation. The ledger stores the code "complete", which it was
    # created with: ledger rows are sealed and never rewritten. Everything else says "good"
    # (`kind_word`).
    GOOD = "complete", _("Good quantity recorded")
    SCRAP = "scrap", _("Scrap recorded")
    DOWNTIME_START = "downtime_start", _("Downtime started")
    DOWNTIME_END = "downtime_end", _("Downtime ended")
    CONSUME = "consume", _("Material consumed")


def kind_word(kind: str) -> str:
    """The word the API, the tablet and the dashboards use for a ledger kind: its name in lower
    case ("good" for the code "complete"; every other kind's word is its code)."""
    return EventKind(kind).name.lower()


def kind_of_word(word: str) -> EventKind | None:
    """The kind a request names: its word, or its stored code (clients written before the word
    "good" send "complete"; see the README's changelog). None for anything else."""
    if word in EventKind.values:
        return EventKind(word)
    return EventKind.__members__.get(word.upper()) if word.islower() else None


class Tracking(models.TextChoices):
    NONE = "none", _("Not tracked")
    LOT = "lot", _("By lot")
    SERIAL = "serial", _("By serial")


class LotScope(models.TextChoices):
    """How a lot-tracked product's output is grouped into lots."""

    ORDER = "order", _("One lot per order")
    SHIFT = "shift", _("One lot per order and shift")


class NumberDate(models.TextChoices):
    """The date part of a lot or serial number (strftime patterns)."""

    NONE = "", _("No date")
    YYYYMMDD = "%Y%m%d", _("YYYYMMDD")
    YYMMDD = "%y%m%d", _("YYMMDD")
    YYJJJ = "%y%j", _("YY and day of year")


class LotKind(models.TextChoices):
    LOT = "lot", _("Lot")
    SERIAL = "serial", _("Serial unit")


class LotStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    CONSUMED = "consumed", _("Consumed")
    SCRAPPED = "scrapped", _("Scrapped")
    SHIPPED = "shipped", _("Shipped")


class ReasonKind(models.TextChoices):
    SCRAP = "scrap", _("Scrap")
    DOWNTIME = "downtime", _("Downtime")
    PAUSE = "pause", _("Pause")
    HOLD = "hold", _("Hold")


class Loss(models.TextChoices):
    """The six big losses of OEE; each downtime reason maps to one."""

    BREAKDOWN = "breakdown", _("Equipment failure")
    SETUP = "setup", _("Setup and adjustments")
    SMALL_STOP = "small_stop", _("Idling and minor stops")
    REDUCED_SPEED = "reduced_speed", _("Reduced speed")
    PROCESS_DEFECT = "process_defect", _("Process defects")
    REDUCED_YIELD = "reduced_yield", _("Reduced yield (start-up)")
