"""Lifecycles of quality records, as data: the states and the allowed moves."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from mes.transitions import Transitions


class VersionStatus(models.TextChoices):
    """A checklist template version or an SOP version."""

    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    EFFECTIVE = "effective", _("Effective")
    RETIRED = "retired", _("Retired")


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
    CHECK = "check", _("Check (done)")
    PASS_FAIL = "pass_fail", _("Pass / fail")
    NUMBER = "number", _("Number")
    TEXT = "text", _("Text")
    CHOICE = "choice", _("Choice")
    PHOTO = "photo", _("Photo")


class Trigger(models.TextChoices):
    """When a checklist attached to an operation must be done."""

    AT_START = "at_start", _("Before the operation starts")
    AT_COMPLETION = "at_completion", _("Before the operation completes")
    EVERY_N_UNITS = "every_n_units", _("Every N units")
    ONCE_PER_SHIFT = "once_per_shift", _("Once per shift")


class Schedule(models.TextChoices):
    """How often a form assigned to a workstation or line falls due."""

    START_OF_SHIFT = "start_of_shift", _("At the start of each shift")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")
    ON_DEMAND = "on_demand", _("On demand")


class RunStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")


class NonconformanceStatus(models.TextChoices):
    OPEN = "open", _("Open")
    INVESTIGATING = "investigating", _("Investigating")
    DISPOSITIONED = "dispositioned", _("Dispositioned")
    CLOSED = "closed", _("Closed")


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
    USE_AS_IS = "use_as_is", _("Use as is")
    REWORK = "rework", _("Rework")
    SCRAP = "scrap", _("Scrap")
    RETURN_TO_SUPPLIER = "return_to_supplier", _("Return to supplier")


class HoldStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RELEASED = "released", _("Released")


class HoldTarget(models.TextChoices):
    WORK_ORDER = "work_order", _("Work order")
    LOT = "lot", _("Lot")
