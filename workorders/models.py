"""Production: master data, work orders and their operations, the production ledger, downtime.

The ledger (`ProductionEvent`) is the truth. Operation and order counters and open downtime are
projections of it, updated in the same transaction and rebuildable from it
(`manage.py rebuild_projections`).

Longer than most modules on purpose: it is the app's schema (the live picture's models are in
`workorders.live.models`), one model per record with its constraints; behaviour lives in services.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from mes.content import clean_translations
from mes.errors import ValidationFailed
from mes.history import HistoricalRecords
from mes.models import Line, Site, Workstation, code_validator
from workorders.gs1 import validate_gtin
from workorders.states import (
    EventKind,
    Loss,
    LotKind,
    LotScope,
    LotStatus,
    NumberDate,
    OperationStatus,
    ReasonKind,
    Tracking,
    WorkOrderStatus,
)

QTY = {"max_digits": 14, "decimal_places": 3}
ZERO = Decimal("0")

# Part, lot, serial and order numbers travel in URLs, labels, barcodes, ERP messages and CSV exports:
# letters, digits and `- _ .`, beginning with a letter or digit. Not `/`, which would split a URL
# path or an ERP routing key (`part/routing`), nor a leading `=`, `+`, `-` or `@`, which a
# spreadsheet would run as a formula.
identifier_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z",
    _("Use letters, digits, '-', '_' and '.' only, beginning with a letter or digit."),
    code="invalid_identifier",
)


class Product(models.Model):
    part_number = models.CharField(
        max_length=64, unique=True, validators=[identifier_validator], verbose_name=_("part number")
    )
    name = models.CharField(max_length=200, verbose_name=_("name"))
    unit = models.CharField(
        max_length=16, default="pcs", help_text=_("Unit of measure: pcs, kg, m ..."), verbose_name=_("unit")
    )
    tracking = models.CharField(
        max_length=8, choices=Tracking.choices, default=Tracking.NONE, verbose_name=_("tracking")
    )
    gtin = models.CharField(
        max_length=14,
        blank=True,
        validators=[validate_gtin],
        help_text=_("GS1 trade item number, for labels and EPCIS."),
        verbose_name=_("GTIN"),
    )
    lot_scope = models.CharField(
        max_length=8,
        choices=LotScope.choices,
        default=LotScope.ORDER,
        help_text=_("For lot tracking."),
        verbose_name=_("lot scope"),
    )
    # Numbering of lots and serials: <prefix><date><sequence>, the sequence restarting per date.
    number_prefix = models.CharField(
        max_length=16,
        blank=True,
        validators=[identifier_validator],
        help_text=_("Start of lot and serial numbers; the part number when blank."),
        verbose_name=_("number prefix"),
    )
    number_date = models.CharField(
        max_length=8,
        choices=NumberDate.choices,
        default=NumberDate.YYMMDD,
        blank=True,
        verbose_name=_("date in numbers"),
    )
    number_digits = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(3), MaxValueValidator(9)], verbose_name=_("sequence digits")
    )
    active = models.BooleanField(default=True, verbose_name=_("active"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["part_number"]

    def __str__(self) -> str:
        return f"{self.part_number} {self.name}"


class BomLine(models.Model):
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="bom_lines", verbose_name=_("product")
    )
    component = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="used_in", verbose_name=_("component")
    )
    quantity = models.DecimalField(
        **QTY,
        validators=[MinValueValidator(Decimal("0.001"))],
        help_text=_("Quantity of the component per unit of the product."),
        verbose_name=_("quantity"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("BOM line")
        verbose_name_plural = _("BOM lines")
        ordering = ["product", "component__part_number"]
        constraints = [
            models.UniqueConstraint(fields=["product", "component"], name="bom_component_once"),
            models.CheckConstraint(condition=~Q(product=models.F("component")), name="bom_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.product.part_number}: {self.quantity} x {self.component.part_number}"


class Routing(models.Model):
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="routings", verbose_name=_("product")
    )
    code = models.CharField(max_length=32, validators=[code_validator], verbose_name=_("code"))
    name = models.CharField(max_length=200, verbose_name=_("name"))
    allow_overlap = models.BooleanField(
        default=False,
        help_text=_("Operations may start before the previous operation has started."),
        verbose_name=_("allow overlap"),
    )
    active = models.BooleanField(default=True, verbose_name=_("active"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("routing")
        verbose_name_plural = _("routings")
        ordering = ["product__part_number", "code"]
        constraints = [models.UniqueConstraint(fields=["product", "code"], name="routing_code_unique")]

    def __str__(self) -> str:
        return f"{self.product.part_number}/{self.code}"


class RoutingOperation(models.Model):
    routing = models.ForeignKey(
        Routing, on_delete=models.CASCADE, related_name="operations", verbose_name=_("routing")
    )
    sequence = models.PositiveIntegerField(verbose_name=_("sequence"))
    name = models.CharField(max_length=200, verbose_name=_("name"))
    workstation = models.ForeignKey(
        Workstation, on_delete=models.PROTECT, related_name="+", verbose_name=_("workstation")
    )
    setup_seconds = models.PositiveIntegerField(default=0, verbose_name=_("setup time (seconds)"))
    ideal_cycle_seconds = models.DecimalField(
        max_digits=10,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0.001"))],
        verbose_name=_("ideal cycle time (seconds)"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("routing operation")
        verbose_name_plural = _("routing operations")
        ordering = ["routing", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["routing", "sequence"], name="routing_sequence_unique")
        ]

    def __str__(self) -> str:
        return f"{self.routing} {self.sequence} {self.name}"


class ReasonCode(models.Model):
    code = models.CharField(max_length=32, unique=True, validators=[code_validator], verbose_name=_("code"))
    name = models.CharField(max_length=200, verbose_name=_("name"))
    kind = models.CharField(max_length=16, choices=ReasonKind.choices, verbose_name=_("kind"))
    loss = models.CharField(
        max_length=16,
        choices=Loss.choices,
        blank=True,
        help_text=_("For downtime: which of the six big losses it is."),
        verbose_name=_("loss"),
    )
    planned = models.BooleanField(
        default=False,
        help_text=_("For downtime: planned stops are not availability losses."),
        verbose_name=_("planned"),
    )
    active = models.BooleanField(default=True, verbose_name=_("active"))
    translations = models.JSONField(
        default=dict,
        blank=True,
        help_text=_(
            'The name in other languages, as {"de": {"name": "…"}}; a language left out shows the name.'
        ),
        verbose_name=_("translations"),
    )
    history = HistoricalRecords()

    TRANSLATED_TEXTS = {"name": 200}

    class Meta:
        verbose_name = _("reason code")
        verbose_name_plural = _("reason codes")
        ordering = ["kind", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=ReasonKind.DOWNTIME, loss__gt="") | ~Q(kind=ReasonKind.DOWNTIME),
                name="downtime_reason_has_loss",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        """Translations keep the site's languages and the name's length (see `mes.content`)."""
        try:
            self.translations = clean_translations(self.translations, self.TRANSLATED_TEXTS)
        except ValidationFailed as refused:
            raise ValidationError({"translations": [refused.message]}) from None


def order_progress_percent(good: Decimal, quantity: Decimal) -> int:
    """How far an order is, in whole percent of its quantity (at most 100)."""
    return min(100, int(good * 100 / quantity)) if quantity else 0


class WorkOrder(models.Model):
    number = models.CharField(
        max_length=64,
        unique=True,
        validators=[identifier_validator],
        help_text=_("The ERP's order number."),
        verbose_name=_("number"),
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="work_orders", verbose_name=_("product")
    )
    routing = models.ForeignKey(
        Routing, on_delete=models.PROTECT, related_name="work_orders", verbose_name=_("routing")
    )
    line = models.ForeignKey(
        Line, on_delete=models.PROTECT, related_name="work_orders", verbose_name=_("line")
    )
    quantity = models.DecimalField(
        **QTY, validators=[MinValueValidator(Decimal("0.001"))], verbose_name=_("quantity")
    )
    due = models.DateTimeField(null=True, blank=True, verbose_name=_("due date"))
    priority = models.IntegerField(
        default=0,
        db_index=True,
        help_text=_("Lower runs first; the board moves orders up and down."),
        verbose_name=_("priority"),
    )
    status = models.CharField(
        max_length=16,
        choices=WorkOrderStatus.choices,
        default=WorkOrderStatus.DRAFT,
        verbose_name=_("status"),
    )
    status_before_hold = models.CharField(
        max_length=16, choices=WorkOrderStatus.choices, blank=True, verbose_name=_("status before hold")
    )
    version = models.PositiveIntegerField(
        default=1, help_text=_("Raised by every change; stale edits are refused."), verbose_name=_("version")
    )
    # Projections of the ledger:
    quantity_good = models.DecimalField(
        **QTY, default=ZERO, help_text=_("Good at the last operation."), verbose_name=_("good quantity")
    )
    quantity_scrap = models.DecimalField(
        **QTY, default=ZERO, help_text=_("Scrap over all operations."), verbose_name=_("scrap quantity")
    )
    released_at = models.DateTimeField(null=True, blank=True, verbose_name=_("released at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    history = HistoricalRecords(excluded_fields=["quantity_good", "quantity_scrap"])

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["priority", "due", "number"]
        indexes = [models.Index(fields=["status", "priority"], name="workorder_status_priority")]
        permissions = [
            ("transition_workorder", "Release, hold, close and cancel work orders"),
            ("override_quantity", "Allow completing more than an order's remaining quantity"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def quantity_remaining(self) -> Decimal:
        return max(ZERO, self.quantity - self.quantity_good)

    @property
    def progress_percent(self) -> int:
        return order_progress_percent(self.quantity_good, self.quantity)


class WorkOrderOperation(models.Model):
    """An operation of a released order, copied from its routing so later edits don't rewrite it."""

    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.PROTECT, related_name="operations", verbose_name=_("work order")
    )
    sequence = models.PositiveIntegerField(verbose_name=_("sequence"))
    name = models.CharField(max_length=200, verbose_name=_("name"))
    workstation = models.ForeignKey(
        Workstation, on_delete=models.PROTECT, related_name="operations", verbose_name=_("workstation")
    )
    setup_seconds = models.PositiveIntegerField(default=0, verbose_name=_("setup time (seconds)"))
    ideal_cycle_seconds = models.DecimalField(
        max_digits=10, decimal_places=3, verbose_name=_("ideal cycle time (seconds)")
    )
    allow_overlap = models.BooleanField(default=False, verbose_name=_("allow overlap"))
    routing_operation = models.ForeignKey(
        RoutingOperation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("routing operation"),
    )
    status = models.CharField(
        max_length=16,
        choices=OperationStatus.choices,
        default=OperationStatus.PENDING,
        verbose_name=_("status"),
    )
    # Projections of the ledger:
    quantity_good = models.DecimalField(**QTY, default=ZERO, verbose_name=_("good quantity"))
    quantity_scrap = models.DecimalField(**QTY, default=ZERO, verbose_name=_("scrap quantity"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    last_event_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last event at"))
    history = HistoricalRecords(excluded_fields=["quantity_good", "quantity_scrap", "last_event_at"])

    class Meta:
        verbose_name = _("work order operation")
        verbose_name_plural = _("work order operations")
        ordering = ["work_order", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["work_order", "sequence"], name="operation_sequence_unique")
        ]
        indexes = [models.Index(fields=["workstation", "status"], name="operation_ws_status")]

    def __str__(self) -> str:
        return f"{self.work_order.number}/{self.sequence} {self.name}"

    @property
    def quantity_remaining(self) -> Decimal:
        return max(ZERO, self.work_order.quantity - self.quantity_good)

    @cached_property
    def is_last(self) -> bool:
        """The last operation of its order: its good count is the order's output."""
        return not WorkOrderOperation.objects.filter(
            work_order_id=self.work_order_id, sequence__gt=self.sequence
        ).exists()


class ProductionEvent(models.Model):
    """One immutable entry of the production ledger.

    Appended by the production services only; never updated or deleted (on PostgreSQL a trigger
    refuses both). `idempotency_key` is the client's key for the request that made it: a retry
    of the same request finds it and returns the first result instead of counting again.

    The ledger is its own history: each row already says who did what, when, on which key, and
    never changes, so a history table beside it would only copy every row once more on every
    tap. The audit seal covers the ledger table itself (`mes.seal.append_only_models`).
    """

    kind = models.CharField(max_length=16, choices=EventKind.choices, verbose_name=_("kind"))
    idempotency_key = models.UUIDField(unique=True)
    request_fingerprint = models.CharField(max_length=64)
    work_order = models.ForeignKey(
        WorkOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("work order"),
    )
    operation = models.ForeignKey(
        WorkOrderOperation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("operation"),
    )
    workstation = models.ForeignKey(
        Workstation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("workstation"),
    )
    line = models.ForeignKey(
        Line, on_delete=models.PROTECT, null=True, blank=True, related_name="events", verbose_name=_("line")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    quantity = models.DecimalField(**QTY, null=True, blank=True, verbose_name=_("quantity"))
    reason = models.ForeignKey(
        ReasonCode,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reason"),
    )
    note = models.CharField(max_length=500, blank=True, verbose_name=_("note"))
    data = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("Kind-specific details (e.g. from/to status)."),
        verbose_name=_("data"),
    )
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Supervisor who allowed an over-completion."),
        verbose_name=_("overridden by"),
    )
    occurred_at = models.DateTimeField(db_index=True, verbose_name=_("occurred at"))
    recorded_at = models.DateTimeField(auto_now_add=True, verbose_name=_("recorded at"))

    # Sealed by the audit seal as it stands, row by row (see `mes.seal.append_only_models`).
    sealed_directly = True

    class Meta:
        verbose_name = _("production event")
        verbose_name_plural = _("production events")
        ordering = ["id"]
        permissions = [("record_production", "Record production at a workstation")]
        indexes = [
            models.Index(fields=["workstation", "occurred_at"], name="event_ws_time"),
            models.Index(fields=["operation", "id"], name="event_operation"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.quantity or ''}".strip()


class Downtime(models.Model):
    """A stop of a workstation, opened and closed by ledger events (a projection of them)."""

    workstation = models.ForeignKey(
        Workstation, on_delete=models.PROTECT, related_name="downtimes", verbose_name=_("workstation")
    )
    reason = models.ForeignKey(
        ReasonCode, on_delete=models.PROTECT, related_name="+", verbose_name=_("reason")
    )
    planned = models.BooleanField(default=False, verbose_name=_("planned"))
    started_at = models.DateTimeField(verbose_name=_("started at"))
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))
    start_event = models.OneToOneField(
        ProductionEvent, on_delete=models.PROTECT, related_name="+", verbose_name=_("start event")
    )
    end_event = models.OneToOneField(
        ProductionEvent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("end event"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("downtime")
        verbose_name_plural = _("downtimes")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workstation"],
                condition=Q(ended_at__isnull=True),
                name="one_open_downtime_per_workstation",
            )
        ]
        indexes = [models.Index(fields=["workstation", "started_at"], name="downtime_ws_start")]

    def __str__(self) -> str:
        return f"{self.workstation.code} {self.reason.code} {self.started_at:%Y-%m-%d %H:%M}"


class NumberSequence(models.Model):
    """The last sequence number given out for a product's lots or serials in one date period."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(
        max_length=16, blank=True, help_text=_("The date part of the numbers it counts.")
    )
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("number sequence")
        verbose_name_plural = _("number sequences")
        constraints = [models.UniqueConstraint(fields=["product", "period"], name="number_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.product_id} {self.period}: {self.last}"


class Lot(models.Model):
    """One identified quantity of a product: a lot, or a serial unit (a lot of one).

    Made by completions at an order's last operation, or received from a supplier. Its counters
    are projections of the ledger (completions add to `quantity`, consumptions to
    `quantity_consumed`) and kept out of its history like the order counters.
    """

    code = models.CharField(
        max_length=64,
        unique=True,
        validators=[identifier_validator],
        help_text=_("The lot or serial number."),
        verbose_name=_("code"),
    )
    kind = models.CharField(max_length=8, choices=LotKind.choices, verbose_name=_("kind"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="lots", verbose_name=_("product")
    )
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="lots", verbose_name=_("site"))
    work_order = models.ForeignKey(
        WorkOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lots",
        help_text=_("The order that made it; empty for a received lot."),
        verbose_name=_("work order"),
    )
    shift_start = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("For lots per shift: the start of the shift it belongs to."),
        verbose_name=_("shift start"),
    )
    created_event = models.ForeignKey(
        ProductionEvent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lots_made",
        help_text=_("The ledger event that first made it."),
        verbose_name=_("created event"),
    )
    quantity = models.DecimalField(
        **QTY, default=ZERO, help_text=_("Made or received."), verbose_name=_("quantity")
    )
    quantity_consumed = models.DecimalField(**QTY, default=ZERO, verbose_name=_("quantity consumed"))
    status = models.CharField(
        max_length=16, choices=LotStatus.choices, default=LotStatus.AVAILABLE, verbose_name=_("status")
    )
    supplier = models.CharField(max_length=200, blank=True, verbose_name=_("supplier"))
    supplier_lot = models.CharField(max_length=64, blank=True, verbose_name=_("supplier lot"))
    produced_at = models.DateTimeField(
        help_text=_("Made, or received for a supplier lot."), verbose_name=_("produced at")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    history = HistoricalRecords(excluded_fields=["quantity", "quantity_consumed"])

    class Meta:
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        ordering = ["-produced_at", "code"]
        indexes = [
            models.Index(fields=["product", "status"], name="lot_product_status"),
            models.Index(fields=["work_order", "shift_start"], name="lot_order_shift"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=LotKind.LOT) | Q(quantity__lte=1), name="serial_is_one_unit"
            )
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def quantity_left(self) -> Decimal:
        return max(ZERO, self.quantity - self.quantity_consumed)


class Consumption(models.Model):
    """A component lot consumed at an operation (the consume ledger event's projection).

    For a lot-tracked product the genealogy link to the order's output lot is made at once.
    For a serial-tracked product the quantity is allocated to serial units as they complete
    (`quantity_allocated` counts what is linked so far), by the BOM quantity per unit.
    """

    event = models.OneToOneField(
        ProductionEvent, on_delete=models.PROTECT, related_name="consumption", verbose_name=_("event")
    )
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="consumptions", verbose_name=_("lot"))
    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.PROTECT, related_name="consumptions", verbose_name=_("work order")
    )
    operation = models.ForeignKey(
        WorkOrderOperation, on_delete=models.PROTECT, related_name="consumptions", verbose_name=_("operation")
    )
    quantity = models.DecimalField(
        **QTY, validators=[MinValueValidator(Decimal("0.001"))], verbose_name=_("quantity")
    )
    quantity_allocated = models.DecimalField(**QTY, default=ZERO, verbose_name=_("quantity allocated"))
    history = HistoricalRecords(excluded_fields=["quantity_allocated"])

    class Meta:
        verbose_name = _("consumption")
        verbose_name_plural = _("consumptions")
        ordering = ["id"]
        indexes = [models.Index(fields=["work_order", "lot"], name="consumption_order_lot")]

    def __str__(self) -> str:
        return f"{self.lot.code} x {self.quantity} into {self.work_order.number}"


class GenealogyLink(models.Model):
    """An edge of the genealogy: `parent` went into `child`, in this quantity, by this event.

    Genealogy is a DAG. Links only follow BOM lines, BOMs are kept acyclic, and the service
    refuses a link whose child is already an ancestor of its parent.
    """

    parent = models.ForeignKey(
        Lot, on_delete=models.PROTECT, related_name="child_links", verbose_name=_("parent")
    )
    child = models.ForeignKey(
        Lot, on_delete=models.PROTECT, related_name="parent_links", verbose_name=_("child")
    )
    quantity = models.DecimalField(**QTY, verbose_name=_("quantity"))
    event = models.ForeignKey(
        ProductionEvent, on_delete=models.PROTECT, related_name="genealogy_links", verbose_name=_("event")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("genealogy link")
        verbose_name_plural = _("genealogy links")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(parent=models.F("child")), name="genealogy_not_self"),
            models.UniqueConstraint(fields=["parent", "child", "event"], name="genealogy_link_once"),
        ]
        indexes = [
            models.Index(fields=["parent", "child"], name="genealogy_down"),
            models.Index(fields=["child", "parent"], name="genealogy_up"),
        ]

    def __str__(self) -> str:
        return f"{self.parent.code} -> {self.child.code}"


class Handover(models.Model):
    """What the next shift must know at a workstation, or at every workstation of a line.

    The outgoing person writes it once; it is never edited (a correction is a new handover), so
    its history row is the record of who wrote what, when. It waits on the tablets of the
    workstation (or line) and on the supervisor's board until someone of the next shift
    acknowledges it.
    """

    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="handovers", verbose_name=_("line"))
    workstation = models.ForeignKey(
        Workstation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="handovers",
        help_text=_("Empty: for every workstation of the line."),
        verbose_name=_("workstation"),
    )
    open_issues = models.TextField(_("open issues"), max_length=2000, blank=True)
    material = models.TextField(_("material"), max_length=2000, blank=True)
    machine_condition = models.TextField(_("machine condition"), max_length=2000, blank=True)
    quality_watch_outs = models.TextField(_("quality watch-outs"), max_length=2000, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    created_at = models.DateTimeField(verbose_name=_("created at"))
    idempotency_key = models.UUIDField(unique=True, help_text=_("The tablet's key: a resend is kept once."))
    history = HistoricalRecords()

    # The four notes, in the order the tablet shows them.
    NOTES = ("open_issues", "material", "machine_condition", "quality_watch_outs")

    class Meta:
        verbose_name = _("shift handover")
        verbose_name_plural = _("shift handovers")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["line", "created_at"], name="handover_line_time")]

    def __str__(self) -> str:
        where = self.workstation.code if self.workstation_id else self.line.code
        return f"Handover {where} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def notes(self) -> list[tuple[str, str]]:
        """The notes written, as (label, text), in the tablet's order."""
        fields = [self._meta.get_field(name) for name in self.NOTES]
        return [(capfirst(f.verbose_name), getattr(self, f.name)) for f in fields if getattr(self, f.name)]


class HandoverAcknowledgement(models.Model):
    """Someone of the next shift read a handover, at a workstation. The first one clears it from
    the board; later ones are kept too (each person confirms once)."""

    handover = models.ForeignKey(
        Handover, on_delete=models.PROTECT, related_name="acknowledgements", verbose_name=_("handover")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    workstation = models.ForeignKey(
        Workstation, on_delete=models.PROTECT, related_name="+", verbose_name=_("workstation")
    )
    acknowledged_at = models.DateTimeField(verbose_name=_("acknowledged at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("handover acknowledgement")
        verbose_name_plural = _("handover acknowledgements")
        ordering = ["acknowledged_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["handover", "user"], name="handover_acknowledged_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} read {self.handover}"
