"""Models of the live picture: status rows per line and workstation, andon calls, machine counters.

`LineStatus` and `WorkstationStatus` are projections of the ledger (and of the andon calls):
kept current inside each event's transaction and rebuildable from the ledger
(`workorders.live.projection.rebuild_line_status`). Counts "this shift" are held for the shift
window they belong to (`window_start`..`window_end`); a row whose window has passed reads as
zero for the new shift.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mes.history import HistoricalRecords
from mes.models import Line, Site, Workstation
from workorders.live.states import AndonKind, AndonStatus, LiveState

QTY = {"max_digits": 14, "decimal_places": 3}
ZERO = Decimal("0")


class LineStatus(models.Model):
    """The live status of a line: its sequence number, raised with every change of the line."""

    line = models.OneToOneField(Line, on_delete=models.CASCADE, primary_key=True, related_name="live_status")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    sequence = models.PositiveBigIntegerField(
        default=0, help_text="Raised in the transaction of every change; dashboards detect gaps with it."
    )
    last_event_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("line status")
        verbose_name_plural = _("line statuses")

    def __str__(self) -> str:
        return f"{self.line_id} #{self.sequence}"


class WorkstationStatus(models.Model):
    """What a workstation is doing now, and its counts in the current shift window."""

    workstation = models.OneToOneField(
        Workstation, on_delete=models.CASCADE, primary_key=True, related_name="live_status"
    )
    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="workstation_statuses")
    state = models.CharField(max_length=16, choices=LiveState.choices, default=LiveState.OFFLINE)
    work_order = models.ForeignKey(
        "workorders.WorkOrder", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    operation = models.ForeignKey(
        "workorders.WorkOrderOperation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    operation_state = models.CharField(max_length=16, blank=True, help_text="running or paused")
    order_held = models.BooleanField(default=False)
    downtime_reason = models.ForeignKey(
        "workorders.ReasonCode", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    downtime_since = models.DateTimeField(null=True, blank=True)
    downtime_planned = models.BooleanField(default=False)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    window_name = models.CharField(max_length=64, blank=True)
    good = models.DecimalField(**QTY, default=ZERO)
    scrap = models.DecimalField(**QTY, default=ZERO)
    ideal_seconds = models.FloatField(default=0.0)
    stop_seconds = models.FloatField(default=0.0, help_text="Closed unplanned downtime in the window.")
    planned_down_seconds = models.FloatField(default=0.0, help_text="Closed planned downtime in the window.")
    andon_open = models.PositiveIntegerField(default=0)
    last_event_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("workstation status")
        verbose_name_plural = _("workstation statuses")
        indexes = [models.Index(fields=["line"], name="ws_status_line")]

    def __str__(self) -> str:
        return f"{self.workstation_id} {self.state}"


class AndonCall(models.Model):
    """A call for help from a workstation: raised, acknowledged by a supervisor, resolved."""

    workstation = models.ForeignKey(
        Workstation, on_delete=models.PROTECT, related_name="andon_calls", verbose_name=_("workstation")
    )
    line = models.ForeignKey(
        Line, on_delete=models.PROTECT, related_name="andon_calls", verbose_name=_("line")
    )
    kind = models.CharField(max_length=16, choices=AndonKind.choices, verbose_name=_("kind"))
    status = models.CharField(
        max_length=16, choices=AndonStatus.choices, default=AndonStatus.OPEN, verbose_name=_("status")
    )
    note = models.CharField(max_length=500, blank=True, verbose_name=_("note"))
    source = models.CharField(
        max_length=16, default="tablet", help_text=_("Tablet or machine."), verbose_name=_("source")
    )
    idempotency_key = models.UUIDField(unique=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("raised by")
    )
    raised_at = models.DateTimeField(verbose_name=_("raised at"))
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True, verbose_name=_("acknowledged at"))
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("andon call")
        verbose_name_plural = _("andon calls")
        ordering = ["-raised_at"]
        indexes = [models.Index(fields=["line", "status"], name="andon_line_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True) | Q(acknowledged_at__gte=models.F("raised_at")),
                name="andon_ack_after_raise",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.workstation_id} ({self.status})"

    @property
    def response_seconds(self) -> float | None:
        return (self.acknowledged_at - self.raised_at).total_seconds() if self.acknowledged_at else None

    @property
    def resolution_seconds(self) -> float | None:
        return (self.resolved_at - self.raised_at).total_seconds() if self.resolved_at else None


class MachineCounter(models.Model):
    """The last cumulative counters a machine reported, to turn its counts into increments.

    `recent_ids` keeps the ids of the last messages applied, so a redelivered message counts once
    and is not mistaken for a counter going backwards.
    """

    workstation = models.OneToOneField(
        Workstation, on_delete=models.CASCADE, primary_key=True, related_name="machine_counter"
    )
    good_total = models.DecimalField(**QTY, default=ZERO)
    scrap_total = models.DecimalField(**QTY, default=ZERO)
    recent_ids = models.JSONField(default=list, blank=True)
    resets = models.PositiveIntegerField(default=0, help_text="Times the counter went backwards.")
    last_reset_at = models.DateTimeField(null=True, blank=True)
    unassigned = models.DecimalField(
        **QTY, default=ZERO, help_text="Counted while no operation was running: not booked."
    )
    last_message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("machine counter")
        verbose_name_plural = _("machine counters")

    def __str__(self) -> str:
        return f"{self.workstation_id} good={self.good_total} scrap={self.scrap_total}"
