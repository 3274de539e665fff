"""The integration's records: the outbox of messages to the ERP and the log of what the ERP sent.

An `OutboxMessage` is written in the same transaction as the ledger event it reports, so it exists
if and only if that event committed. Delivery moves it through its states with conditional
updates (no history row per attempt: `attempts`, `last_error` and the timestamps are its record);
a person's retry or skip is saved with its author and reason in the history.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from integration.states import InboundKind, InboundOutcome, MessageStatus, MessageType
from mes.history import HistoricalRecords
from workorders.models import ProductionEvent, WorkOrder


class OutboxMessage(models.Model):
    message_type = models.CharField(
        max_length=16, choices=MessageType.choices, verbose_name=_("message type")
    )
    idempotency_key = models.UUIDField(
        unique=True, help_text=_("Derived from the ledger event's key; the same on every attempt.")
    )
    # One message of each type per event: the event's own, and the labor confirmation the event
    # that closes an operation's labor also carries.
    event = models.ForeignKey(
        ProductionEvent, on_delete=models.PROTECT, related_name="outbox_messages", verbose_name=_("event")
    )
    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.PROTECT, related_name="outbox_messages", verbose_name=_("work order")
    )
    sequence = models.PositiveIntegerField(
        help_text=_("Per work order, so the ERP can apply them in order."), verbose_name=_("sequence")
    )
    payload = models.JSONField(
        help_text=_("The mapped message, in the ERP's terms."), verbose_name=_("payload")
    )
    status = models.CharField(
        max_length=16, choices=MessageStatus.choices, default=MessageStatus.PENDING, verbose_name=_("status")
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(
        help_text=_("Due for (re)delivery from this time."), verbose_name=_("next attempt at")
    )
    lease_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("While sent: a worker holds it until then, after which it is reclaimed."),
        verbose_name=_("lease until"),
    )
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last attempt at"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    erp_reference = models.CharField(max_length=200, blank=True, verbose_name=_("ERP reference"))
    request_id = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text=_("The request that recorded the event; its delivery attempts log it too."),
        verbose_name=_("request ID"),
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True, verbose_name=_("acknowledged at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    history = HistoricalRecords(
        excluded_fields=["payload", "lease_until", "claim_token", "last_attempt_at", "next_attempt_at"]
    )

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["work_order", "sequence"], name="outbox_sequence_per_order"),
            models.UniqueConstraint(fields=["event", "message_type"], name="outbox_one_type_per_event"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["status", "lease_until"], name="outbox_lease"),
        ]
        permissions = [("resolve_outboxmessage", "Retry or skip a failed ERP message")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.message_type} {self.payload.get('order_number', '')}/{self.sequence}"


class InboundRecord(models.Model):
    """One record the ERP pushed, with what became of it; refused records keep their body and reason."""

    kind = models.CharField(max_length=16, choices=InboundKind.choices, verbose_name=_("kind"))
    erp_key = models.CharField(max_length=200, blank=True, verbose_name=_("ERP key"))
    outcome = models.CharField(max_length=16, choices=InboundOutcome.choices, verbose_name=_("outcome"))
    body = models.TextField(blank=True, help_text=_("The record as received."), verbose_name=_("text"))
    fingerprint = models.CharField(max_length=64, blank=True)
    field = models.CharField(max_length=64, blank=True, verbose_name=_("field"))
    reason = models.TextField(blank=True, verbose_name=_("reason"))
    code = models.CharField(max_length=64, blank=True, verbose_name=_("code"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    received_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("received at"))

    class Meta:
        verbose_name = _("inbound record")
        verbose_name_plural = _("inbound records")
        ordering = ["-id"]
        indexes = [models.Index(fields=["kind", "erp_key"], name="inbound_kind_key")]
        permissions = [("push_erp_data", "Push master data and work orders from the ERP")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(outcome=InboundOutcome.REFUSED) | ~Q(reason=""), name="refused_has_reason"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.erp_key} {self.outcome}"


class ErpEndpoint(models.Model):
    """Where messages go when no ERP_URL is set in the environment (the demo points it at the fake ERP)."""

    class Connector(models.TextChoices):
        JSON = "json", _("JSON over HTTP(S)")
        B2MML = "b2mml", _("B2MML XML (ISA-95)")

    name = models.CharField(max_length=64, unique=True, default="erp", verbose_name=_("name"))
    connector = models.CharField(
        max_length=8, choices=Connector.choices, default=Connector.JSON, verbose_name=_("connector")
    )
    url = models.URLField(max_length=500, verbose_name=_("URL"))
    auth_header = models.CharField(
        max_length=500,
        blank=True,
        help_text=_('e.g. "Authorization: Bearer …"'),
        verbose_name=_("authorization header"),
    )
    timeout_seconds = models.DecimalField(
        max_digits=6, decimal_places=2, default=10, verbose_name=_("timeout (seconds)")
    )
    active = models.BooleanField(default=True, verbose_name=_("active"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("ERP endpoint")
        verbose_name_plural = _("ERP endpoints")

    def __str__(self) -> str:
        return f"{self.name} ({self.connector}) {self.url}"
