"""Report jobs: exports that take more than a moment are built in the background (a Celery task,
or a thread of the server in the embedded mode) with a visible state, progress and result; and the
review of an order's production record (released or rejected with an e-signature)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from mes.history import HistoricalRecords
from mes.models import Site
from mes.transitions import Transitions
from workorders.models import QTY, Lot, WorkOrder


class ReportKind(models.TextChoices):
    TRACE_PDF = "trace_pdf", _("Trace report (PDF)")
    TRACE_CSV = "trace_csv", _("Trace (CSV)")
    TRACE_JSON = "trace_json", _("Trace (JSON)")
    TRACE_EPCIS = "trace_epcis", _("Trace (EPCIS 2.0 JSON-LD)")
    AUDIT_PDF = "audit_pdf", _("Audit trail (PDF)")
    AUDIT_CSV = "audit_csv", _("Audit trail (CSV)")


class ReportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ReportJob(models.Model):
    kind = models.CharField(max_length=16, choices=ReportKind.choices, verbose_name=_("kind"))
    params = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("What to report on (lot, direction, filter)."),
        verbose_name=_("parameters"),
    )
    status = models.CharField(
        max_length=8, choices=ReportStatus.choices, default=ReportStatus.QUEUED, verbose_name=_("status")
    )
    progress = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)], verbose_name=_("progress")
    )
    file = models.FileField(upload_to="reports/%Y/%m/", blank=True, verbose_name=_("file"))
    filename = models.CharField(max_length=200, blank=True, verbose_name=_("filename"))
    content_type = models.CharField(max_length=64, blank=True, verbose_name=_("record type"))
    content_hash = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("SHA-256 of the report's data."),
        verbose_name=_("content hash"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    language = models.CharField(
        max_length=16,
        blank=True,
        help_text=_("The language the report is written in (the requester's then)."),
        verbose_name=_("language"),
    )

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
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


# --- the review of an order's production record ------------------------------------------------
# A record with no review row is "open". Releasing or rejecting stores the hash of the record as it
# was decided (`record_hash`) and signs the review row, whose signed content holds that hash: the
# signature proves the hash, and the hash, compared with the record assembled now, shows whether
# what the release covers has changed since (a broken seal). The record itself is a read model
# (`traceability.record`).


class RecordStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_REVIEW = "in_review", _("In review")
    RELEASED = "released", _("Released")
    REJECTED = "rejected", _("Rejected")


R = RecordStatus
RECORD_TRANSITIONS = Transitions(
    R,
    {
        R.OPEN: {R.IN_REVIEW, R.RELEASED, R.REJECTED},
        R.IN_REVIEW: {R.RELEASED, R.REJECTED},
        # A rejected record goes back to review once production has answered (a new comment),
        # or is released after all.
        R.REJECTED: {R.IN_REVIEW, R.RELEASED},
        R.RELEASED: set(),
    },
)
can_transition_record = RECORD_TRANSITIONS.allowed


class RecordReview(models.Model):
    work_order = models.OneToOneField(
        WorkOrder, on_delete=models.PROTECT, related_name="record_review", verbose_name=_("work order")
    )
    status = models.CharField(
        max_length=16, choices=RecordStatus.choices, default=RecordStatus.IN_REVIEW, verbose_name=_("status")
    )
    record_hash = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("SHA-256 of the record when it was released or rejected."),
        verbose_name=_("record hash"),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("decided at"))
    decision_note = models.CharField(max_length=500, blank=True, verbose_name=_("decision note"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("opened by")
    )
    opened_at = models.DateTimeField(verbose_name=_("opened at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("record review")
        verbose_name_plural = _("record reviews")
        ordering = ["-opened_at", "-pk"]
        indexes = [models.Index(fields=["status", "decided_at"], name="record_review_status")]
        permissions = [("review_record", "Review, release and reject production records")]

    def __str__(self) -> str:
        return f"Record of {self.work_order.number} ({self.get_status_display()})"

    def signature_content(self) -> dict:
        """What a release or rejection signs: the order and the hash of its record as decided."""
        return {
            "work_order": self.work_order.number,
            "status": self.status,
            "record_hash": self.record_hash,
        }


class RecordSnapshot(models.Model):
    """The record's content as it was decided (released or rejected): what the reviewer saw and
    signed, kept for the auditor, and the measure a later check holds the record to.

    A later release of the MES may add facts to a record (a new section, a new field). The seal
    check compares the record assembled now with the snapshot over the snapshot's own shape, so
    what was signed stays checked and what was added since doesn't break the seal.
    Append-only: a record decided again gets a new snapshot."""

    review = models.ForeignKey(
        RecordReview, on_delete=models.PROTECT, related_name="snapshots", verbose_name=_("review")
    )
    status = models.CharField(max_length=16, choices=RecordStatus.choices, verbose_name=_("status"))
    content = models.JSONField(
        help_text=_("The record as decided, as its JSON export."), verbose_name=_("content")
    )
    content_hash = models.CharField(max_length=64, verbose_name=_("content hash"))
    taken_at = models.DateTimeField(verbose_name=_("taken at"))

    # Sealed by the audit seal as it stands, row by row (see `mes.seal.append_only_models`).
    sealed_directly = True

    class Meta:
        verbose_name = _("record snapshot")
        verbose_name_plural = _("record snapshots")
        ordering = ["taken_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_status_display()} record of review {self.review_id} ({self.content_hash[:12]})"


class RecordComment(models.Model):
    """A reviewer's comment on one exception of a record (by the exception's stable key).
    Append-only: a second thought is a new comment."""

    review = models.ForeignKey(
        RecordReview, on_delete=models.PROTECT, related_name="comments", verbose_name=_("review")
    )
    exception_key = models.CharField(max_length=120, verbose_name=_("exception key"))
    text = models.CharField(max_length=1000, verbose_name=_("text"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    created_at = models.DateTimeField(verbose_name=_("created at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("record comment")
        verbose_name_plural = _("record comments")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["review", "exception_key"], name="record_comment_key")]

    def __str__(self) -> str:
        return f"{self.exception_key}: {self.text[:40]}"


class RecordSettings(models.Model):
    """Production-record rules of a site, kept beside the record they govern."""

    site = models.OneToOneField(
        Site, on_delete=models.CASCADE, related_name="record_settings", verbose_name=_("site")
    )
    requires_record_release = models.BooleanField(
        default=False,
        help_text=_(
            "Lots and serials an order made are consumed by a later order or shipped only once "
            "quality has released that order's production record."
        ),
        verbose_name=_("record release required"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("record settings")
        verbose_name_plural = _("record settings")

    def __str__(self) -> str:
        return f"Record settings of {self.site.code}"


class Shipment(models.Model):
    """A quantity of a lot or serial unit that left the plant: to whom, under which reference
    (their order, our delivery note), when and by whom. A lot whose whole rest has shipped is
    `shipped`; a shipment is never edited, a return comes back as a received lot."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("lot"))
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    quantity = models.DecimalField(**QTY, verbose_name=_("quantity"))
    customer = models.CharField(
        max_length=200, help_text=_("Who it was shipped to."), verbose_name=_("customer")
    )
    reference = models.CharField(
        max_length=100,
        help_text=_("The customer's order or our delivery note it shipped under."),
        verbose_name=_("reference"),
    )
    note = models.CharField(max_length=500, blank=True, verbose_name=_("note"))
    shipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("shipped by")
    )
    shipped_at = models.DateTimeField(verbose_name=_("shipped at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    # The client's key for the request that made it, and that request's fingerprint: a retried
    # shipment (a double tap, an API retry) returns this one instead of shipping again.
    idempotency_key = models.UUIDField(unique=True, editable=False)
    request_fingerprint = models.CharField(max_length=64, editable=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["-shipped_at", "-pk"]
        indexes = [models.Index(fields=["site", "shipped_at"], name="shipment_site_time")]
        permissions = [("ship_lot", "Ship lots and serial units to customers")]

    def __str__(self) -> str:
        return f"{self.lot.code} to {self.customer} ({self.reference})"
