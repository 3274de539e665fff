"""The audit seal's records: each link of the hash chain and the rows of each table it covers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mes.seal.canonical import ROW_HASH_PREFIX


class Trigger(models.TextChoices):
    BEAT = "beat", _("Periodic task")
    COMMAND = "command", _("Command line")
    PAGE = "page", _("Audit page")
    API = "api", _("API")


class AuditSeal(models.Model):
    """One link of the chain: the hash over the rows it covers and its predecessor's hash."""

    number = models.PositiveBigIntegerField(unique=True)
    previous_hash = models.CharField(max_length=64, unique=True)
    digest = models.CharField(max_length=64, help_text=_("SHA-256 over the covered rows, table by table."))
    hash = models.CharField(max_length=64, unique=True, help_text=_("sha256(previous_hash + digest)."))
    row_count = models.PositiveIntegerField()
    sealed_at = models.DateTimeField()
    sealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    state = models.JSONField(
        default=dict, help_text=_("Per history table: the highest id looked at, and the gaps below it.")
    )

    class Meta:
        app_label = "mes"
        ordering = ["number"]
        verbose_name = _("audit seal")
        verbose_name_plural = _("audit seals")
        permissions = [("seal_audit_trail", "Seal the audit trail on demand")]

    def __str__(self) -> str:
        return f"seal {self.number} ({self.row_count} rows, {self.hash[:12]})"


class AuditSealPart(models.Model):
    """The rows of one history table that one seal covers."""

    seal = models.ForeignKey(AuditSeal, on_delete=models.PROTECT, related_name="parts")
    table = models.CharField(max_length=128)
    low = models.BigIntegerField()
    high = models.BigIntegerField()
    ranges = models.JSONField(help_text=_("The covered history ids as [first, last] ranges, ascending."))
    row_count = models.PositiveIntegerField()
    digest = models.CharField(max_length=64)
    row_hashes = models.TextField(
        help_text=f"The first {ROW_HASH_PREFIX} hex digits of each row's hash, in id order."
    )
    # The columns the rows were hashed over. A later release may add a column to a history table
    # (a new field on the model); the rows this part covers are still checked over the columns
    # they were sealed with, so an upgrade does not break the seals made before it.
    columns = models.JSONField(default=list, help_text=_("The table's columns the row hashes cover."))

    class Meta:
        app_label = "mes"
        ordering = ["seal", "table"]
        verbose_name = _("audit seal part")
        verbose_name_plural = _("audit seal parts")
        constraints = [models.UniqueConstraint(fields=["seal", "table"], name="audit_seal_part_once")]
        indexes = [models.Index(fields=["table", "low", "high"], name="audit_seal_part_table")]

    def __str__(self) -> str:
        return f"{self.table} {self.ranges} in seal {self.seal_id}"
