"""Report jobs: exports that take more than a moment are built in the background (a Celery task,
or a thread of the server in the embedded mode) with a visible state, progress and result."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models


class ReportKind(models.TextChoices):
    TRACE_PDF = "trace_pdf", "Trace report (PDF)"
    TRACE_CSV = "trace_csv", "Trace (CSV)"
    TRACE_JSON = "trace_json", "Trace (JSON)"
    TRACE_EPCIS = "trace_epcis", "Trace (EPCIS 2.0 JSON-LD)"
    AUDIT_PDF = "audit_pdf", "Audit trail (PDF)"
    AUDIT_CSV = "audit_csv", "Audit trail (CSV)"


class ReportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ReportJob(models.Model):
    kind = models.CharField(max_length=16, choices=ReportKind.choices)
    params = models.JSONField(
        default=dict, blank=True, help_text="What to report on (lot, direction, filter)."
    )
    status = models.CharField(max_length=8, choices=ReportStatus.choices, default=ReportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    file = models.FileField(upload_to="reports/%Y/%m/", blank=True)
    filename = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=64, blank=True)
    content_hash = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the report's data.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["requested_by", "created_at"], name="reportjob_user_created")]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="reportjob_progress_max")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in (ReportStatus.DONE, ReportStatus.FAILED)
