"""Lifecycles of work orders and their operations, as data: the states and the allowed moves."""

from django.db import models

from mes.transitions import Transitions


class WorkOrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RELEASED = "released", "Released"
    IN_PROGRESS = "in_progress", "In progress"
    ON_HOLD = "on_hold", "On hold"
    COMPLETED = "completed", "Completed"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


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
    PENDING = "pending", "Not started"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    DONE = "done", "Done"


class EventKind(models.TextChoices):
    ORDER_STATUS = "order_status", "Order status changed"
    START = "start", "Operation started"
    PAUSE = "pause", "Operation paused"
    RESUME = "resume", "Operation resumed"
    COMPLETE = "complete", "Good quantity recorded"
    SCRAP = "scrap", "Scrap recorded"
    DOWNTIME_START = "downtime_start", "Downtime started"
    DOWNTIME_END = "downtime_end", "Downtime ended"
    CONSUME = "consume", "Material consumed"


class Tracking(models.TextChoices):
    NONE = "none", "Not tracked"
    LOT = "lot", "By lot"
    SERIAL = "serial", "By serial"


class LotScope(models.TextChoices):
    """How a lot-tracked product's output is grouped into lots."""

    ORDER = "order", "One lot per order"
    SHIFT = "shift", "One lot per order and shift"


class NumberDate(models.TextChoices):
    """The date part of a lot or serial number (strftime patterns)."""

    NONE = "", "No date"
    YYYYMMDD = "%Y%m%d", "YYYYMMDD"
    YYMMDD = "%y%m%d", "YYMMDD"
    YYJJJ = "%y%j", "YY and day of year"


class LotKind(models.TextChoices):
    LOT = "lot", "Lot"
    SERIAL = "serial", "Serial unit"


class LotStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    CONSUMED = "consumed", "Consumed"
    SCRAPPED = "scrapped", "Scrapped"
    SHIPPED = "shipped", "Shipped"


class ReasonKind(models.TextChoices):
    SCRAP = "scrap", "Scrap"
    DOWNTIME = "downtime", "Downtime"
    PAUSE = "pause", "Pause"
    HOLD = "hold", "Hold"


class Loss(models.TextChoices):
    """The six big losses of OEE; each downtime reason maps to one."""

    BREAKDOWN = "breakdown", "Equipment failure"
    SETUP = "setup", "Setup and adjustments"
    SMALL_STOP = "small_stop", "Idling and minor stops"
    REDUCED_SPEED = "reduced_speed", "Reduced speed"
    PROCESS_DEFECT = "process_defect", "Process defects"
    REDUCED_YIELD = "reduced_yield", "Reduced yield (start-up)"
