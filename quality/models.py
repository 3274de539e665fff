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

    site = models.OneToOneField(
        Site, on_delete=models.CASCADE, related_name="quality_settings", verbose_name=_("site")
    )
    second_person_approval = models.BooleanField(
        default=False,
        help_text=_("A checklist or SOP version must be approved by someone other than its author."),
        verbose_name=_("second person approval"),
    )
    spc_nonconformance = models.BooleanField(
        default=True,
        help_text=_(
            "A value that breaks a rule on an SPC chart (once its limits rest on 25 values) opens "
            "a nonconformance with the values as evidence, or adds them to the one still open for that chart."
        ),
        verbose_name=_("SPC nonconformance"),
    )
    spc_andon = models.BooleanField(
        default=False,
        help_text=_("Such a value also raises a quality andon call at the workstation."),
        verbose_name=_("SPC andon"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("quality settings")
        verbose_name_plural = _("quality settings")

    def __str__(self) -> str:
        return f"Quality settings of {self.site.code}"


# --- checklist templates -----------------------------------------------------------------------


class ChecklistTemplate(models.Model):
    """A checklist or form, identified by its code; its content lives in its versions."""

    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="checklist_templates", verbose_name=_("site")
    )
    code = models.CharField(max_length=32, validators=[code_validator], verbose_name=_("code"))
    title = models.CharField(max_length=200, verbose_name=_("title"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    translations = models.JSONField(
        default=dict,
        blank=True,
        help_text=_('The title in other languages: {"de": {"title": "…"}}.'),
        verbose_name=_("translations"),
    )
    signature_required = models.BooleanField(
        default=False,
        help_text=_("Each submission is signed by the person who filled it (performed)."),
        verbose_name=_("signature required"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("checklist template")
        verbose_name_plural = _("checklist templates")
        ordering = ["site__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["site", "code"], name="checklist_code_unique_per_site")
        ]
        permissions = [("author_checklist", "Author checklist templates")]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class ChecklistTemplateVersion(models.Model):
    template = models.ForeignKey(
        ChecklistTemplate, on_delete=models.PROTECT, related_name="versions", verbose_name=_("template")
    )
    version = models.PositiveIntegerField(verbose_name=_("version"))
    status = models.CharField(
        max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT, verbose_name=_("status")
    )
    change_note = models.CharField(max_length=500, blank=True, verbose_name=_("change note"))
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    submitted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("submitted at"))
    approved_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("approved by")
    )
    approved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("approved at"))
    effective_at = models.DateTimeField(null=True, blank=True, verbose_name=_("effective at"))
    retired_at = models.DateTimeField(null=True, blank=True, verbose_name=_("retired at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("checklist template version")
        verbose_name_plural = _("checklist template versions")
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
    version = models.ForeignKey(
        ChecklistTemplateVersion, on_delete=models.CASCADE, related_name="items", verbose_name=_("version")
    )
    position = models.PositiveIntegerField(default=0, verbose_name=_("position"))
    kind = models.CharField(max_length=16, choices=ItemKind.choices, verbose_name=_("kind"))
    prompt = models.CharField(max_length=300, verbose_name=_("prompt"))
    help_text = models.TextField(blank=True, verbose_name=_("help text"))
    help_image = models.ImageField(upload_to="quality/help/%Y/%m/", blank=True, verbose_name=_("help image"))
    required = models.BooleanField(default=True, verbose_name=_("required"))
    unit = models.CharField(max_length=16, blank=True, verbose_name=_("unit"))
    lsl = models.DecimalField(**SPEC, verbose_name=_("lower spec limit"))
    usl = models.DecimalField(**SPEC, verbose_name=_("upper spec limit"))
    target = models.DecimalField(**SPEC, verbose_name=_("target"))
    decimals = models.PositiveSmallIntegerField(
        default=2, validators=[MaxValueValidator(6)], verbose_name=_("decimal places")
    )
    choices = models.JSONField(
        default=list, blank=True, help_text=_("The options of a choice item."), verbose_name=_("choices")
    )
    multiple = models.BooleanField(
        default=False,
        help_text=_("A choice item may take several options."),
        verbose_name=_("multiple choice"),
    )
    translations = models.JSONField(
        default=dict,
        blank=True,
        help_text=_('The prompt and help in other languages: {"de": {"prompt": "…", "help_text": "…"}}.'),
        verbose_name=_("translations"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
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
        RoutingOperation,
        on_delete=models.CASCADE,
        related_name="checklists",
        verbose_name=_("routing operation"),
    )
    template = models.ForeignKey(
        ChecklistTemplate, on_delete=models.PROTECT, related_name="operations", verbose_name=_("template")
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices, verbose_name=_("trigger"))
    every_n_units = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], verbose_name=_("every N units")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("operation checklist")
        verbose_name_plural = _("operation checklists")
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

    template = models.ForeignKey(
        ChecklistTemplate, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("template")
    )
    workstation = models.ForeignKey(
        Workstation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="form_assignments",
        verbose_name=_("workstation"),
    )
    line = models.ForeignKey(
        Line,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="form_assignments",
        verbose_name=_("line"),
    )
    schedule = models.CharField(max_length=16, choices=Schedule.choices, verbose_name=_("schedule"))
    weekday = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(7)],
        help_text=_("Weekly: ISO day."),
        verbose_name=_("weekday"),
    )
    active = models.BooleanField(default=True, verbose_name=_("active"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("form assignment")
        verbose_name_plural = _("form assignments")
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

    version = models.ForeignKey(
        ChecklistTemplateVersion, on_delete=models.PROTECT, related_name="runs", verbose_name=_("version")
    )
    template = models.ForeignKey(
        ChecklistTemplate, on_delete=models.PROTECT, related_name="runs", verbose_name=_("template")
    )
    workstation = models.ForeignKey(
        Workstation, on_delete=models.PROTECT, related_name="checklist_runs", verbose_name=_("workstation")
    )
    work_order = models.ForeignKey(
        WorkOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="checklist_runs",
        verbose_name=_("work order"),
    )
    operation = models.ForeignKey(
        WorkOrderOperation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="checklist_runs",
        verbose_name=_("operation"),
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices, blank=True, verbose_name=_("trigger"))
    assignment = models.ForeignKey(
        FormAssignment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="runs",
        verbose_name=_("assignment"),
    )
    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.IN_PROGRESS, verbose_name=_("status")
    )
    draft = models.JSONField(default=dict, blank=True)
    units_at_submission = models.DecimalField(
        max_digits=14, decimal_places=3, null=True, blank=True, verbose_name=_("units at submission")
    )
    started_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("started by")
    )
    started_at = models.DateTimeField(verbose_name=_("started at"))
    completed_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("completed by"),
    )
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))
    history = HistoricalRecords(excluded_fields=["draft"])

    class Meta:
        verbose_name = _("checklist run")
        verbose_name_plural = _("checklist runs")
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

    run = models.ForeignKey(
        ChecklistRun, on_delete=models.PROTECT, related_name="responses", verbose_name=_("run")
    )
    item = models.ForeignKey(
        ChecklistItem, on_delete=models.PROTECT, related_name="responses", verbose_name=_("item")
    )
    value_text = models.TextField(blank=True, verbose_name=_("text value"))
    value_number = models.DecimalField(
        max_digits=18, decimal_places=6, null=True, blank=True, verbose_name=_("number value")
    )
    value_bool = models.BooleanField(null=True, blank=True, verbose_name=_("yes/no value"))
    value_choices = models.JSONField(default=list, blank=True, verbose_name=_("chosen options"))
    photo = models.FileField(upload_to="quality/photos/%Y/%m/", blank=True, verbose_name=_("photo"))
    in_spec = models.BooleanField(
        null=True, blank=True, help_text=_("For numbers with spec limits."), verbose_name=_("in spec")
    )
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"))
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        verbose_name=_("supersedes"),
    )
    correction_reason = models.CharField(max_length=500, blank=True, verbose_name=_("correction reason"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("checklist response")
        verbose_name_plural = _("checklist responses")
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
        verbose_name = _("quality request")
        verbose_name_plural = _("quality requests")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} {self.key}"


# --- nonconformances and holds -----------------------------------------------------------------


class Nonconformance(models.Model):
    number = models.CharField(max_length=32, unique=True, verbose_name=_("number"))
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="nonconformances", verbose_name=_("site")
    )
    title = models.CharField(max_length=200, verbose_name=_("title"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    status = models.CharField(
        max_length=16,
        choices=NonconformanceStatus.choices,
        default=NonconformanceStatus.OPEN,
        verbose_name=_("status"),
    )
    automatic = models.BooleanField(
        default=False, help_text=_("Opened by an out-of-spec response."), verbose_name=_("automatic")
    )
    work_order = models.ForeignKey(
        WorkOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="nonconformances",
        verbose_name=_("work order"),
    )
    operation = models.ForeignKey(
        WorkOrderOperation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="nonconformances",
        verbose_name=_("operation"),
    )
    workstation = models.ForeignKey(
        Workstation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="nonconformances",
        verbose_name=_("workstation"),
    )
    # Lots arrive with traceability; until then the lot is named by its code.
    lot_code = models.CharField(max_length=64, blank=True, verbose_name=_("lot"))
    response = models.ForeignKey(
        ChecklistResponse,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="nonconformances",
        verbose_name=_("response"),
    )
    item = models.ForeignKey(
        ChecklistItem,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="nonconformances",
        verbose_name=_("item"),
    )
    operator = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("operator")
    )
    opened_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("opened by")
    )
    opened_at = models.DateTimeField(verbose_name=_("opened at"))
    investigation_note = models.TextField(blank=True, verbose_name=_("investigation note"))
    disposition = models.CharField(
        max_length=24, choices=Disposition.choices, blank=True, verbose_name=_("disposition")
    )
    disposition_note = models.TextField(blank=True, verbose_name=_("disposition note"))
    dispositioned_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("dispositioned by"),
    )
    dispositioned_at = models.DateTimeField(null=True, blank=True, verbose_name=_("dispositioned at"))
    closed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("closed by")
    )
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("nonconformance")
        verbose_name_plural = _("nonconformances")
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

    response = models.ForeignKey(
        ChecklistResponse, on_delete=models.PROTECT, related_name="spc_signals", verbose_name=_("response")
    )
    item = models.ForeignKey(
        ChecklistItem, on_delete=models.PROTECT, related_name="spc_signals", verbose_name=_("item")
    )
    workstation = models.ForeignKey(
        Workstation, on_delete=models.PROTECT, related_name="spc_signals", verbose_name=_("workstation")
    )
    rule = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(4)], verbose_name=_("rule")
    )
    evidence = models.JSONField(default=dict, blank=True, verbose_name=_("evidence"))
    nonconformance = models.ForeignKey(
        Nonconformance,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="spc_signals",
        verbose_name=_("nonconformance"),
    )
    detected_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("detected by")
    )
    detected_at = models.DateTimeField(verbose_name=_("detected at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("SPC signal")
        verbose_name_plural = _("SPC signals")
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

    target = models.CharField(
        max_length=16, choices=HoldTarget.choices, default=HoldTarget.WORK_ORDER, verbose_name=_("target")
    )
    work_order = models.ForeignKey(
        WorkOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="holds",
        verbose_name=_("work order"),
    )
    lot_code = models.CharField(max_length=64, blank=True, verbose_name=_("lot"))
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="holds", verbose_name=_("site"))
    reason = models.CharField(max_length=500, verbose_name=_("reason"))
    status = models.CharField(
        max_length=16, choices=HoldStatus.choices, default=HoldStatus.ACTIVE, verbose_name=_("status")
    )
    nonconformance = models.ForeignKey(
        Nonconformance,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="holds",
        verbose_name=_("nonconformance"),
    )
    placed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("placed by")
    )
    placed_at = models.DateTimeField(verbose_name=_("placed at"))
    released_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("released by")
    )
    released_at = models.DateTimeField(null=True, blank=True, verbose_name=_("released at"))
    release_reason = models.CharField(max_length=500, blank=True, verbose_name=_("release reason"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("hold")
        verbose_name_plural = _("holds")
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
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="sop_documents", verbose_name=_("site")
    )
    code = models.CharField(max_length=32, validators=[code_validator], verbose_name=_("code"))
    title = models.CharField(max_length=200, verbose_name=_("title"))
    translations = models.JSONField(
        default=dict,
        blank=True,
        help_text=_('The title in other languages: {"de": {"title": "…"}}.'),
        verbose_name=_("translations"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("SOP")
        verbose_name_plural = _("SOPs")
        ordering = ["site__code", "code"]
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="sop_code_unique_per_site")]
        permissions = [("author_sop", "Author SOP documents"), ("approve_sop", "Approve SOP versions")]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class SopVersion(models.Model):
    document = models.ForeignKey(
        SopDocument, on_delete=models.PROTECT, related_name="versions", verbose_name=_("document")
    )
    version = models.PositiveIntegerField(verbose_name=_("version"))
    status = models.CharField(
        max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT, verbose_name=_("status")
    )
    body = models.TextField(
        blank=True,
        help_text=_(
            "The instruction in Markdown: headings, lists, tables, bold; images as ![caption](image:N)."
        ),
        verbose_name=_("text"),
    )
    pdf = models.FileField(upload_to="quality/sop/%Y/%m/", blank=True, verbose_name=_("PDF"))
    translations = models.JSONField(
        default=dict,
        blank=True,
        help_text=_('The text in other languages: {"de": {"body": "…"}}.'),
        verbose_name=_("translations"),
    )
    change_note = models.CharField(max_length=500, blank=True, verbose_name=_("change note"))
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    approved_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("approved by")
    )
    approved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("approved at"))
    effective_at = models.DateTimeField(null=True, blank=True, verbose_name=_("effective at"))
    retired_at = models.DateTimeField(null=True, blank=True, verbose_name=_("retired at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("SOP version")
        verbose_name_plural = _("SOP versions")
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

    version = models.ForeignKey(
        SopVersion, on_delete=models.PROTECT, related_name="images", verbose_name=_("version")
    )
    number = models.PositiveIntegerField(verbose_name=_("number"))
    image = models.FileField(upload_to="quality/sop/images/%Y/%m/", verbose_name=_("image"))
    caption = models.CharField(max_length=200, blank=True, verbose_name=_("caption"))
    uploaded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(auto_now_add=True, verbose_name=_("uploaded at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("SOP image")
        verbose_name_plural = _("SOP images")
        ordering = ["version", "number"]
        constraints = [models.UniqueConstraint(fields=["version", "number"], name="sop_image_number_unique")]

    def __str__(self) -> str:
        return f"{self.version} image {self.number}"


class OperationSop(models.Model):
    routing_operation = models.ForeignKey(
        RoutingOperation, on_delete=models.CASCADE, related_name="sops", verbose_name=_("routing operation")
    )
    document = models.ForeignKey(
        SopDocument, on_delete=models.PROTECT, related_name="operations", verbose_name=_("document")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("operation SOP")
        verbose_name_plural = _("operation SOPs")
        ordering = ["routing_operation", "document__code"]
        constraints = [
            models.UniqueConstraint(fields=["routing_operation", "document"], name="operation_sop_once")
        ]

    def __str__(self) -> str:
        return f"{self.routing_operation}: {self.document.code}"


class SopAcknowledgement(models.Model):
    """An operator read this version. Append-only."""

    version = models.ForeignKey(
        SopVersion, on_delete=models.PROTECT, related_name="acknowledgements", verbose_name=_("version")
    )
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("user"))
    acknowledged_at = models.DateTimeField(verbose_name=_("acknowledged at"))
    workstation = models.ForeignKey(
        Workstation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("workstation"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("SOP acknowledgement")
        verbose_name_plural = _("SOP acknowledgements")
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

    user = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="qualifications", verbose_name=_("user")
    )
    workstation = models.ForeignKey(
        Workstation, on_delete=models.PROTECT, related_name="qualifications", verbose_name=_("workstation")
    )
    valid_until = models.DateField(
        help_text=_("The last day the qualification holds (site's date)."), verbose_name=_("valid until")
    )
    granted_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("granted by")
    )
    granted_at = models.DateTimeField(verbose_name=_("granted at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    revoked_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("revoked by")
    )
    revoke_reason = models.CharField(max_length=500, blank=True, verbose_name=_("revoke reason"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("qualification")
        verbose_name_plural = _("qualifications")
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

    workstation = models.ForeignKey(
        Workstation, on_delete=models.PROTECT, related_name="+", verbose_name=_("workstation")
    )
    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.PROTECT, related_name="+", verbose_name=_("work order")
    )
    operation = models.ForeignKey(
        WorkOrderOperation, on_delete=models.PROTECT, related_name="+", verbose_name=_("operation")
    )
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("user"))
    guard = models.CharField(max_length=16, choices=Guard.choices, verbose_name=_("guard"))
    code = models.CharField(
        max_length=32, help_text=_("The refusal's machine code (not_qualified...)."), verbose_name=_("code")
    )
    message = models.CharField(
        max_length=500, help_text=_("What the person was told."), verbose_name=_("message")
    )
    idempotency_key = models.UUIDField(help_text=_("The refused tap's key: a resend is one refusal."))
    refused_at = models.DateTimeField(verbose_name=_("refused at"))

    # Sealed by the audit seal as it stands, row by row (see `mes.seal.append_only_models`).
    sealed_directly = True

    class Meta:
        verbose_name = _("start refusal")
        verbose_name_plural = _("start refusals")
        ordering = ["-refused_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "idempotency_key"], name="start_refusal_once_per_tap")
        ]
        indexes = [models.Index(fields=["workstation", "refused_at"], name="start_refusal_ws_time")]

    def __str__(self) -> str:
        return f"{self.user} refused at {self.workstation.code}: {self.get_guard_display()}"
