"""Lifecycles of quality records, as data: the states and the allowed moves."""

from django.db import models

from mes.transitions import Transitions


class VersionStatus(models.TextChoices):
    """A checklist template version or an SOP version."""

    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    EFFECTIVE = "effective", "Effective"
    RETIRED = "retired", "Retired"


V = VersionStatus
VERSION_TRANSITIONS = Transitions(
    V,
    {
        V.DRAFT: {V.IN_REVIEW, V.RETIRED},
        V.IN_REVIEW: {V.DRAFT, V.APPROVED},
        V.APPROVED: {V.EFFECTIVE, V.RETIRED},
        V.EFFECTIVE: {V.RETIRED},
        V.RETIRED: set(),
    },
)
# Versions whose content can no longer change: a change makes a new draft version.
FROZEN = {V.APPROVED, V.EFFECTIVE, V.RETIRED}


can_transition_version = VERSION_TRANSITIONS.allowed


class ItemKind(models.TextChoices):
    CHECK = "check", "Check (done)"
    PASS_FAIL = "pass_fail", "Pass / fail"
    NUMBER = "number", "Number"
    TEXT = "text", "Text"
    CHOICE = "choice", "Choice"
    PHOTO = "photo", "Photo"


class Trigger(models.TextChoices):
    """When a checklist attached to an operation must be done."""

    AT_START = "at_start", "Before the operation starts"
    AT_COMPLETION = "at_completion", "Before the operation completes"
    EVERY_N_UNITS = "every_n_units", "Every N units"
    ONCE_PER_SHIFT = "once_per_shift", "Once per shift"


class Schedule(models.TextChoices):
    """How often a form assigned to a workstation or line falls due."""

    START_OF_SHIFT = "start_of_shift", "At the start of each shift"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    ON_DEMAND = "on_demand", "On demand"


class RunStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class NonconformanceStatus(models.TextChoices):
    OPEN = "open", "Open"
    INVESTIGATING = "investigating", "Investigating"
    DISPOSITIONED = "dispositioned", "Dispositioned"
    CLOSED = "closed", "Closed"


N = NonconformanceStatus
NONCONFORMANCE_TRANSITIONS = Transitions(
    N,
    {
        N.OPEN: {N.INVESTIGATING, N.DISPOSITIONED},
        N.INVESTIGATING: {N.DISPOSITIONED},
        N.DISPOSITIONED: {N.CLOSED},
        N.CLOSED: set(),
    },
)
OPEN_NONCONFORMANCE = {N.OPEN, N.INVESTIGATING, N.DISPOSITIONED}


can_transition_nonconformance = NONCONFORMANCE_TRANSITIONS.allowed


class Disposition(models.TextChoices):
    USE_AS_IS = "use_as_is", "Use as is"
    REWORK = "rework", "Rework"
    SCRAP = "scrap", "Scrap"
    RETURN_TO_SUPPLIER = "return_to_supplier", "Return to supplier"


class HoldStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RELEASED = "released", "Released"


class HoldTarget(models.TextChoices):
    WORK_ORDER = "work_order", "Work order"
    LOT = "lot", "Lot"
