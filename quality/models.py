"""Quality on the floor: checklist templates and their versions, runs and responses, forms on a
schedule, SOP documents, nonconformances and holds.

Versioned things come in two models: the *document* (a template or an SOP, identified by its code
and attached to routing operations) and its *versions* (draft → in review → approved →
effective → retired). Only the effective version reaches the floor, and runs and
acknowledgements point at the version they used.

The module is longer than most on purpose: it is the app's schema, one model per regulated
record with its constraints and history, read best in one place; behaviour lives in services.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mes.history import HistoricalRecords
from mes.models import Line, Site, Workstation, code_validator
from mes.signatures import Signature  # noqa: F401  (registers the kernel's signature model)
from quality.states import (
    Disposition,
    HoldStatus,
    HoldTarget,
    ItemKind,
    NonconformanceStatus,
    RunStatus,
    Schedule,
    Trigger,
    VersionStatus,
)
from workorders.models import RoutingOperation, WorkOrder, WorkOrderOperation

SPEC = {"max_digits": 18, "decimal_places": 6, "null": True, "blank": True}
USER = settings.AUTH_USER_MODEL


class QualitySettings(models.Model):
    """Quality rules of a site."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="quality_settings")
    second_person_approval = models.BooleanField(
        default=False,
        help_text=_("A checklist or SOP version must be approved by someone other than its author."),
    )
    spc_nonconformance = models.BooleanField(
        default=True,
        help_text=_(
            "A value that breaks a rule on an SPC chart (once its limits rest on 25 values) opens "
            "a nonconformance with the values as evidence, or adds them to the one still open for that chart."
        ),
    )
    spc_andon = models.BooleanField(
        default=False,
        help_text=_("Such a value also raises a quality andon call at the workstation."),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = _("quality settings")

    def __str__(self) -> str:
        return f"Quality settings of {self.site.code}"


# --- checklist templates -----------------------------------------------------------------------


class ChecklistTemplate(models.Model):
    """A checklist or form, identified by its code; its content lives in its versions."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="checklist_templates")
    code = models.CharField(max_length=32, validators=[code_validator])
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    signature_required = models.BooleanField(
        default=False, help_text=_("Each submission is signed by the person who filled it (performed).")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["site", "code"], name="checklist_code_unique_per_site")
        ]
        permissions = [("author_checklist", "Author checklist templates")]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class ChecklistTemplateVersion(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    change_note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    effective_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["template", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["template", "version"], name="checklist_version_unique"),
            models.UniqueConstraint(
                fields=["template"], condition=Q(status="effective"), name="one_effective_checklist_version"
            ),
        ]
        permissions = [("approve_checklist", "Approve checklist template versions")]

    def __str__(self) -> str:
        return f"{self.template.code} v{self.version} ({self.get_status_display()})"

    def signature_content(self) -> dict:
        """What an approval covers: the template's identity and every item as it is."""
        return {
            "template": self.template.code,
            "title": self.template.title,
            "version": self.version,
            "items": [item.signature_content() for item in self.items.order_by("position", "pk")],
        }


class ChecklistItem(models.Model):
    version = models.ForeignKey(ChecklistTemplateVersion, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=ItemKind.choices)
    prompt = models.CharField(max_length=300)
    help_text = models.TextField(blank=True)
    help_image = models.ImageField(upload_to="quality/help/%Y/%m/", blank=True)
    required = models.BooleanField(default=True)
    unit = models.CharField(max_length=16, blank=True)
    lsl = models.DecimalField(**SPEC, verbose_name=_("lower spec limit"))
    usl = models.DecimalField(**SPEC, verbose_name=_("upper spec limit"))
    target = models.DecimalField(**SPEC)
    decimals = models.PositiveSmallIntegerField(default=2, validators=[MaxValueValidator(6)])
    choices = models.JSONField(default=list, blank=True, help_text=_("The options of a choice item."))
    multiple = models.BooleanField(default=False, help_text=_("A choice item may take several options."))
    translations = models.JSONField(
        default=dict,
        blank=True,
        help_text=_('The prompt and help in other languages: {"de": {"prompt": "…", "help_text": "…"}}.'),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["version", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(lsl__isnull=True) | Q(usl__isnull=True) | Q(lsl__lte=models.F("usl")),
                name="item_lsl_not_above_usl",
            )
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.prompt}"

    def signature_content(self) -> dict:
        content = {
            "position": self.position,
            "kind": self.kind,
            "prompt": self.prompt,
            "help_text": self.help_text,
            "help_image": self.help_image.name or "",
            "required": self.required,
            "unit": self.unit,
            "lsl": self.lsl,
            "usl": self.usl,
            "target": self.target,
            "decimals": self.decimals,
            "choices": self.choices,
            "multiple": self.multiple,
        }
        if self.translations:  # the signature covers every language the item is read in
            content["translations"] = self.translations
        return content

    @property
    def has_spec(self) -> bool:
        return self.kind == ItemKind.NUMBER and (self.lsl is not None or self.usl is not None)

    def in_spec(self, value: Decimal) -> bool:
        return (self.lsl is None or value >= self.lsl) and (self.usl is None or value <= self.usl)

    @property
    def step(self) -> str:
        return "1" if self.decimals == 0 else "0." + "0" * (self.decimals - 1) + "1"


class OperationChecklist(models.Model):
    """A checklist a routing operation requires, and when."""

    routing_operation = models.ForeignKey(
        RoutingOperation, on_delete=models.CASCADE, related_name="checklists"
    )
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="operations")
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    every_n_units = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    history = HistoricalRecords()

    class Meta:
        ordering = ["routing_operation", "template__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["routing_operation", "template", "trigger"], name="operation_checklist_once"
            ),
            models.CheckConstraint(
                condition=~Q(trigger="every_n_units") | Q(every_n_units__gte=1),
                name="every_n_units_has_n",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.routing_operation}: {self.template.code} ({self.get_trigger_display()})"


class FormAssignment(models.Model):
    """A template used as a form at a workstation or on a line, on a schedule or on demand."""

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="assignments")
    workstation = models.ForeignKey(
        Workstation, on_delete=models.CASCADE, null=True, blank=True, related_name="form_assignments"
    )
    line = models.ForeignKey(
        Line, on_delete=models.CASCADE, null=True, blank=True, related_name="form_assignments"
    )
    schedule = models.CharField(max_length=16, choices=Schedule.choices)
    weekday = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(7)],
        help_text=_("Weekly: ISO day."),
    )
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["template__code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(workstation__isnull=True, line__isnull=False)
                | Q(workstation__isnull=False, line__isnull=True),
                name="form_at_workstation_or_line",
            )
        ]

    def __str__(self) -> str:
        where = self.workstation.code if self.workstation_id else self.line.code
        return f"{self.template.code} @ {where} ({self.get_schedule_display()})"


# --- runs and responses ------------------------------------------------------------------------


class ChecklistRun(models.Model):
    """One filling of one template version, for an operation or as a form.

    The answers are `ChecklistResponse` rows, written at submission and never changed. While the
    run is in progress, `draft` keeps what has been typed so far (saved as the operator goes).
    """

    version = models.ForeignKey(ChecklistTemplateVersion, on_delete=models.PROTECT, related_name="runs")
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="runs")
    workstation = models.ForeignKey(Workstation, on_delete=models.PROTECT, related_name="checklist_runs")
    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="checklist_runs"
    )
    operation = models.ForeignKey(
        WorkOrderOperation, on_delete=models.PROTECT, null=True, blank=True, related_name="checklist_runs"
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices, blank=True)
    assignment = models.ForeignKey(
        FormAssignment, on_delete=models.PROTECT, null=True, blank=True, related_name="runs"
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.IN_PROGRESS)
    draft = models.JSONField(default=dict, blank=True)
    units_at_submission = models.DecimalField(max_digits=14, decimal_places=3, null=True, blank=True)
    started_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    completed_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["draft"])

    class Meta:
        ordering = ["-started_at", "-pk"]
        permissions = [("fill_checklist", "Fill checklists and forms")]
        indexes = [
            models.Index(fields=["operation", "template", "status"], name="run_operation_template"),
            models.Index(fields=["workstation", "completed_at"], name="run_workstation_completed"),
        ]

    def __str__(self) -> str:
        return f"Run #{self.pk} {self.template.code} v{self.version.version}"

    def signature_content(self) -> dict:
        return {
            "template": self.template.code,
            "version": self.version.version,
            "work_order": self.work_order_id,
            "operation": self.operation_id,
            "workstation": self.workstation_id,
            "responses": [r.signature_content() for r in self.responses.order_by("pk")],
        }


def response_display(kind, *, decimals, unit, number, flag, choices, photo, text) -> str:
    """An answer as shown and recorded, from plain values (an item's kind, decimals and unit, the
    response's columns, `photo` the stored file name): the production record formats thousands of
    answers read as values, without building a model instance for each."""
    if kind == ItemKind.NUMBER:
        if number is None:
            return ""
        return f"{number:.{decimals}f} {unit}".strip()
    if kind == ItemKind.CHECK:
        return "Done" if flag else ""
    if kind == ItemKind.PASS_FAIL:
        return {True: "Pass", False: "Fail"}.get(flag, "")
    if kind == ItemKind.CHOICE:
        return ", ".join(choices)
    if kind == ItemKind.PHOTO:
        return photo.rsplit("/", 1)[-1] if photo else ""
    return text


class ChecklistResponse(models.Model):
    """One answer to one item of a run. Immutable: a correction is a new row that supersedes it."""

    run = models.ForeignKey(ChecklistRun, on_delete=models.PROTECT, related_name="responses")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="responses")
    value_text = models.TextField(blank=True)
    value_number = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    value_bool = models.BooleanField(null=True, blank=True)
    value_choices = models.JSONField(default=list, blank=True)
    photo = models.FileField(upload_to="quality/photos/%Y/%m/", blank=True)
    in_spec = models.BooleanField(null=True, blank=True, help_text=_("For numbers with spec limits."))
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    correction_reason = models.CharField(max_length=500, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["run", "item__position", "pk"]
        indexes = [models.Index(fields=["item", "recorded_at"], name="response_item_time")]

    def __str__(self) -> str:
        return f"{self.item.prompt}: {self.display_value}"

    @property
    def display_value(self) -> str:
        item = self.item
        return response_display(
            item.kind,
            decimals=item.decimals,
            unit=item.unit,
            number=self.value_number,
            flag=self.value_bool,
            choices=self.value_choices,
            photo=self.photo.name if self.photo else "",
            text=self.value_text,
        )

    def signature_content(self) -> dict:
        return {
            "item": self.item_id,
            "text": self.value_text,
            "number": self.value_number,
            "bool": self.value_bool,
            "choices": self.value_choices,
            "photo": self.photo.name or "",
            "supersedes": self.supersedes_id,
        }


class QualityRequest(models.Model):
    """The idempotency key of each state-changing quality request from a tablet or the API, who
    sent it and what it produced, so a retry by its author returns the first result and never
    acts twice, and nobody else's request can claim that result."""

    key = models.UUIDField(unique=True)
    action = models.CharField(max_length=32)
    request_fingerprint = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Who sent the request; empty on requests recorded before keys had an author."),
    )
    result_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} {self.key}"


# --- nonconformances and holds -----------------------------------------------------------------


class Nonconformance(models.Model):
    number = models.CharField(max_length=32, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="nonconformances")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=NonconformanceStatus.choices, default=NonconformanceStatus.OPEN
    )
    automatic = models.BooleanField(default=False, help_text=_("Opened by an out-of-spec response."))
    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="nonconformances"
    )
    operation = models.ForeignKey(
        WorkOrderOperation, on_delete=models.PROTECT, null=True, blank=True, related_name="nonconformances"
    )
    workstation = models.ForeignKey(
        Workstation, on_delete=models.PROTECT, null=True, blank=True, related_name="nonconformances"
    )
    # Lots arrive with traceability; until then the lot is named by its code.
    lot_code = models.CharField(max_length=64, blank=True)
    response = models.ForeignKey(
        ChecklistResponse, on_delete=models.PROTECT, null=True, blank=True, related_name="nonconformances"
    )
    item = models.ForeignKey(
        ChecklistItem, on_delete=models.PROTECT, null=True, blank=True, related_name="nonconformances"
    )
    operator = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    opened_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField()
    investigation_note = models.TextField(blank=True)
    disposition = models.CharField(max_length=24, choices=Disposition.choices, blank=True)
    disposition_note = models.TextField(blank=True)
    dispositioned_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    dispositioned_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at", "-pk"]
        permissions = [("disposition_nonconformance", "Disposition nonconformances")]
        indexes = [models.Index(fields=["status", "opened_at"], name="nc_status_opened")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def signature_content(self) -> dict:
        """What a disposition signature covers."""
        return {
            "number": self.number,
            "title": self.title,
            "description": self.description,
            "work_order": self.work_order_id,
            "operation": self.operation_id,
            "lot": self.lot_code,
            "response": self.response_id,
            "disposition": self.disposition,
            "disposition_note": self.disposition_note,
        }


class SpcSignal(models.Model):
    """A Western Electric rule broken by one measured value on an SPC chart (quality/spc.py).
    Recorded once: a response breaks a rule once however often its chart is judged again, and
    `evidence` keeps the values that broke it and the limits they were judged against."""

    response = models.ForeignKey(ChecklistResponse, on_delete=models.PROTECT, related_name="spc_signals")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="spc_signals")
    workstation = models.ForeignKey(Workstation, on_delete=models.PROTECT, related_name="spc_signals")
    rule = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(4)])
    evidence = models.JSONField(default=dict, blank=True)
    nonconformance = models.ForeignKey(
        Nonconformance, on_delete=models.PROTECT, null=True, blank=True, related_name="spc_signals"
    )
    detected_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    detected_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-detected_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["response", "rule"], name="spc_signal_once"),
            models.CheckConstraint(condition=Q(rule__gte=1, rule__lte=4), name="spc_signal_rule_known"),
        ]
        indexes = [models.Index(fields=["workstation", "item"], name="spc_signal_series")]

    def __str__(self) -> str:
        return f"Rule {self.rule} at {self.response_id}"


class Hold(models.Model):
    """A hold on a work order or on a lot (or serial unit), the lot named by its code: while it is
    active nothing is recorded against the order and the lot is not consumed."""

    target = models.CharField(max_length=16, choices=HoldTarget.choices, default=HoldTarget.WORK_ORDER)
    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="holds"
    )
    lot_code = models.CharField(max_length=64, blank=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="holds")
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=HoldStatus.choices, default=HoldStatus.ACTIVE)
    nonconformance = models.ForeignKey(
        Nonconformance, on_delete=models.PROTECT, null=True, blank=True, related_name="holds"
    )
    placed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    placed_at = models.DateTimeField()
    released_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.CharField(max_length=500, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-placed_at", "-pk"]
        permissions = [("release_hold", "Release holds")]
        constraints = [
            models.CheckConstraint(
                condition=Q(target="work_order", work_order__isnull=False)
                | Q(target="lot", work_order__isnull=True, lot_code__gt=""),
                name="hold_has_its_target",
            )
        ]
        indexes = [
            models.Index(fields=["work_order", "status"], name="hold_order_status"),
            models.Index(fields=["lot_code", "status"], name="hold_lot_status"),
        ]

    def __str__(self) -> str:
        return f"Hold on {self.target_label} ({self.get_status_display()})"

    @property
    def target_label(self) -> str:
        return f"order {self.work_order.number}" if self.work_order_id else f"lot {self.lot_code}"

    def signature_content(self) -> dict:
        return {
            "hold": self.pk,
            "target": self.target,
            "work_order": self.work_order_id,
            "lot": self.lot_code,
            "reason": self.reason,
            "release_reason": self.release_reason,
        }


# --- SOP documents -----------------------------------------------------------------------------


class SopDocument(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="sop_documents")
    code = models.CharField(max_length=32, validators=[code_validator])
    title = models.CharField(max_length=200)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site__code", "code"]
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="sop_code_unique_per_site")]
        permissions = [("author_sop", "Author SOP documents"), ("approve_sop", "Approve SOP versions")]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class SopVersion(models.Model):
    document = models.ForeignKey(SopDocument, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    body = models.TextField(
        blank=True,
        help_text=_(
            "The instruction in Markdown: headings, lists, tables, bold; images as ![caption](image:N)."
        ),
    )
    pdf = models.FileField(upload_to="quality/sop/%Y/%m/", blank=True)
    translations = models.JSONField(
        default=dict, blank=True, help_text=_('The text in other languages: {"de": {"body": "…"}}.')
    )
    change_note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    effective_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["document", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["document", "version"], name="sop_version_unique"),
            models.UniqueConstraint(
                fields=["document"], condition=Q(status="effective"), name="one_effective_sop_version"
            ),
        ]
        permissions = [("acknowledge_sop", "Acknowledge SOP versions")]

    def __str__(self) -> str:
        return f"{self.document.code} v{self.version} ({self.get_status_display()})"

    def signature_content(self) -> dict:
        content = {
            "document": self.document.code,
            "title": self.document.title,
            "version": self.version,
            "body": self.body,
            "pdf": self.pdf.name or "",
        }
        images = [[i.number, i.image.name, i.caption] for i in self.images.order_by("number")]
        if images:  # the signature covers the pictures the text shows
            content["images"] = images
        if self.translations:  # and every language the text is read in
            content["translations"] = self.translations
        return content


class SopImage(models.Model):
    """An image of a work instruction version, placed in its text as `![caption](image:N)`.

    Added to drafts only; a new draft version carries its predecessor's images with it."""

    version = models.ForeignKey(SopVersion, on_delete=models.PROTECT, related_name="images")
    number = models.PositiveIntegerField()
    image = models.FileField(upload_to="quality/sop/images/%Y/%m/")
    caption = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["version", "number"]
        constraints = [models.UniqueConstraint(fields=["version", "number"], name="sop_image_number_unique")]

    def __str__(self) -> str:
        return f"{self.version} image {self.number}"


class OperationSop(models.Model):
    routing_operation = models.ForeignKey(RoutingOperation, on_delete=models.CASCADE, related_name="sops")
    document = models.ForeignKey(SopDocument, on_delete=models.PROTECT, related_name="operations")
    history = HistoricalRecords()

    class Meta:
        ordering = ["routing_operation", "document__code"]
        constraints = [
            models.UniqueConstraint(fields=["routing_operation", "document"], name="operation_sop_once")
        ]

    def __str__(self) -> str:
        return f"{self.routing_operation}: {self.document.code}"


class SopAcknowledgement(models.Model):
    """An operator read this version. Append-only."""

    version = models.ForeignKey(SopVersion, on_delete=models.PROTECT, related_name="acknowledgements")
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField()
    workstation = models.ForeignKey(
        Workstation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-acknowledged_at"]
        constraints = [models.UniqueConstraint(fields=["version", "user"], name="sop_acknowledged_once")]

    def __str__(self) -> str:
        return f"{self.user} read {self.version}"

    def signature_content(self) -> dict:
        """What the reader signs: this version of this document, read by them, there and then."""
        return {
            "document": self.version.document.code,
            "version": self.version.version,
            "version_id": self.version_id,
            "user": self.user_id,
            "workstation": self.workstation_id,
            "acknowledged_at": self.acknowledged_at,
        }


# --- qualifications ----------------------------------------------------------------------------


class Qualification(models.Model):
    """A person may work at a workstation until a date, granted by quality with an e-signature
    (meaning "approved"). Revoked, it stays as the record of what was allowed when."""

    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="qualifications")
    workstation = models.ForeignKey(Workstation, on_delete=models.PROTECT, related_name="qualifications")
    valid_until = models.DateField(help_text=_("The last day the qualification holds (site's date)."))
    granted_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    revoke_reason = models.CharField(max_length=500, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["workstation", "user", "-valid_until"]
        indexes = [models.Index(fields=["workstation", "user"], name="qualification_lookup")]
        permissions = [("grant_qualification", "Grant and revoke qualifications")]

    def __str__(self) -> str:
        return f"{self.user} on {self.workstation.code} until {self.valid_until}"

    def signature_content(self) -> dict:
        return {
            "user": self.user_id,
            "workstation": self.workstation_id,
            "valid_until": self.valid_until.isoformat(),
        }


class StartRefusal(models.Model):
    """A Start that a quality guard refused (no valid qualification, an SOP not read): who tried,
    where, when, which guard and what they were told. Written after the start's own transaction
    rolled back (see `quality.services.refusals`); once per tap (its idempotency key).

    Append-only: written once, never changed, so it is its own history; the audit seal covers it
    directly and on PostgreSQL a trigger refuses UPDATE and DELETE."""

    class Guard(models.TextChoices):
        QUALIFICATION = "qualification", _("Not qualified")
        SOP = "sop", _("SOP not read")

    workstation = models.ForeignKey(Workstation, on_delete=models.PROTECT, related_name="+")
    work_order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="+")
    operation = models.ForeignKey(WorkOrderOperation, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    guard = models.CharField(max_length=16, choices=Guard.choices)
    code = models.CharField(max_length=32, help_text=_("The refusal's machine code (not_qualified...)."))
    message = models.CharField(max_length=500, help_text=_("What the person was told."))
    idempotency_key = models.UUIDField(help_text=_("The refused tap's key: a resend is one refusal."))
    refused_at = models.DateTimeField()

    # Sealed by the audit seal as it stands, row by row (see `mes.seal.append_only_models`).
    sealed_directly = True

    class Meta:
        ordering = ["-refused_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "idempotency_key"], name="start_refusal_once_per_tap")
        ]
        indexes = [models.Index(fields=["workstation", "refused_at"], name="start_refusal_ws_time")]

    def __str__(self) -> str:
        return f"{self.user} refused at {self.workstation.code}: {self.get_guard_display()}"
