"""Serializers of the production API: master data, work orders, ledger events, OEE queries.

They parse and render only; every write goes through `workorders.services` from the views.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from mes.filters import BIGINT_MAX
from mes.idempotency import parse_key
from mes.selectors import SHIFT_WINDOW_MAX_DAYS
from workorders.models import (
    BomLine,
    Product,
    ProductionEvent,
    ReasonCode,
    Routing,
    RoutingOperation,
    WorkOrder,
    WorkOrderOperation,
)
from workorders.states import EventKind, WorkOrderStatus, kind_of_word, kind_word

# --- Master data -------------------------------------------------------------------------------


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "part_number", "name", "unit", "tracking", "active"]


class BomLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = BomLine
        fields = ["id", "product", "component", "quantity"]


class ReasonCodeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReasonCode
        fields = ["id", "code", "name", "translations", "kind", "loss", "planned", "active"]

    def validate(self, attrs):
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        loss = attrs.get("loss", getattr(self.instance, "loss", ""))
        if kind == "downtime" and not loss:
            raise ValidationError({"loss": [_("A downtime reason maps to one of the six big losses.")]})
        return attrs


class RoutingOperationSerializer(serializers.ModelSerializer):
    class Meta:
        model = RoutingOperation
        fields = ["sequence", "name", "workstation", "setup_seconds", "ideal_cycle_seconds"]


class RoutingSerializer(serializers.ModelSerializer):
    operations = RoutingOperationSerializer(many=True, required=False)

    class Meta:
        model = Routing
        fields = ["id", "product", "code", "name", "allow_overlap", "active", "operations"]


# --- Work orders -------------------------------------------------------------------------------


class WorkOrderOperationSerializer(serializers.ModelSerializer):
    workstation_code = serializers.CharField(source="workstation.code", read_only=True)

    class Meta:
        model = WorkOrderOperation
        fields = [
            "id",
            "sequence",
            "name",
            "workstation",
            "workstation_code",
            "status",
            "quantity_good",
            "quantity_scrap",
            "ideal_cycle_seconds",
            "started_at",
            "last_event_at",
        ]
        read_only_fields = fields


class WorkOrderSerializer(serializers.ModelSerializer):
    operations = WorkOrderOperationSerializer(many=True, read_only=True)
    product_part_number = serializers.CharField(source="product.part_number", read_only=True)

    class Meta:
        model = WorkOrder
        fields = [
            "id",
            "number",
            "product",
            "product_part_number",
            "routing",
            "line",
            "quantity",
            "due",
            "priority",
            "status",
            "version",
            "quantity_good",
            "quantity_scrap",
            "released_at",
            "started_at",
            "completed_at",
            "operations",
        ]
        read_only_fields = [
            "status",
            "version",
            "quantity_good",
            "quantity_scrap",
            "released_at",
            "started_at",
            "completed_at",
        ]


class WorkOrderUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    reason = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3, required=False)
    due = serializers.DateTimeField(required=False)


class TransitionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[*WorkOrderStatus.values, "resume"],
        help_text="The target status; 'resume' takes an order off hold.",
    )
    version = serializers.IntegerField(help_text="The version you saw; a stale one is refused (409).")
    idempotency_key = serializers.UUIDField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    reason_code = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="A hold reason code, for on_hold."
    )
    override = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Complete over the refusals a supervisor may override (an answer marked "
        "'overridable'); needs a reason and your password, which signs the override.",
    )
    password = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False, write_only=True
    )


class MoveSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=["up", "down"])


# --- Ledger events -----------------------------------------------------------------------------

RECORDABLE = [
    EventKind.START,
    EventKind.PAUSE,
    EventKind.RESUME,
    EventKind.GOOD,
    EventKind.SCRAP,
    EventKind.DOWNTIME_START,
    EventKind.DOWNTIME_END,
]


class EventKindField(serializers.ChoiceField):
    """A ledger kind as the API names it: its word ("good"), read back from the stored code; a
    request may still send the code ("complete"), as clients written before the word did."""

    def __init__(self, kinds=tuple(EventKind), **kwargs):
        super().__init__(choices=[(kind_word(k), k.label) for k in kinds], **kwargs)

    def to_internal_value(self, data):
        kind = kind_of_word(data) if isinstance(data, str) else None
        if kind is None or kind_word(kind) not in self.choices:
            self.fail("invalid_choice", input=data)
        return kind

    def to_representation(self, value):
        return kind_word(value)


QUANTITY_PLACES = ProductionEvent._meta.get_field("quantity").decimal_places


def _decimal_text(value: Decimal | None, places: int) -> str | None:
    return None if value is None else format(value.quantize(Decimal(1).scaleb(-places)), "f")


def _time_text(value: datetime | None) -> str | None:
    """As DRF's DateTimeField writes it: in the current zone (UTC in the API), `Z` for UTC."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class EventSerializer(serializers.ModelSerializer):
    kind = EventKindField(read_only=True)
    reason = serializers.SlugRelatedField(slug_field="code", read_only=True)

    def get_fields(self):
        # ModelSerializer builds its fields from the model on every instance, about a millisecond;
        # an event's fields are all read-only and never vary, so they are built once and each
        # instance gets its own copy. Only the schema and `represent_generically` still use them.
        built = type(self).__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            type(self)._built_fields = built
        return copy.deepcopy(built)

    def to_representation(self, instance: ProductionEvent) -> dict:
        """The declared fields, rendered as DRF renders them (ids for links, the reason's code,
        the quantity as a string with the model's places, times in ISO 8601 with `Z` for UTC),
        but read straight off the row: field by field through DRF, with each answer's copy of
        the fields, cost about half a millisecond on every production answer. The tests hold it
        to DRF's own rendering of the same fields (`represent_generically`)."""
        return {
            "id": instance.pk,
            "kind": kind_word(instance.kind),
            "idempotency_key": str(instance.idempotency_key),
            "work_order": instance.work_order_id,
            "operation": instance.operation_id,
            "workstation": instance.workstation_id,
            "user": instance.user_id,
            "quantity": _decimal_text(instance.quantity, QUANTITY_PLACES),
            "reason": instance.reason.code if instance.reason_id is not None else None,
            "note": instance.note,
            "data": instance.data,
            "override_by": instance.override_by_id,
            "occurred_at": _time_text(instance.occurred_at),
            "recorded_at": _time_text(instance.recorded_at),
        }

    def represent_generically(self, instance: ProductionEvent) -> dict:
        """DRF's field-by-field rendering of the declared fields, which `to_representation` matches."""
        return super().to_representation(instance)

    class Meta:
        model = ProductionEvent
        fields = [
            "id",
            "kind",
            "idempotency_key",
            "work_order",
            "operation",
            "workstation",
            "user",
            "quantity",
            "reason",
            "note",
            "data",
            "override_by",
            "occurred_at",
            "recorded_at",
        ]
        read_only_fields = fields


class ProductionRequestSerializer(serializers.Serializer):
    """What every production request carries: the client's key, the workstation and, for a tap
    sent late, when it happened."""

    idempotency_key = serializers.CharField(help_text="A UUID made by the client; a retry reuses it.")
    workstation = serializers.IntegerField()
    occurred_at = serializers.CharField(
        required=False, help_text="When it happened, if sent late (ISO 8601)."
    )

    def validate_idempotency_key(self, value):
        return parse_key(value)

    def validate_occurred_at(self, value):
        parsed = parse_datetime(value) if value else None
        if value and parsed is None:
            raise ValidationError(_("Not an ISO 8601 date and time."))
        return parsed


class EventRequestSerializer(ProductionRequestSerializer):
    kind = EventKindField(RECORDABLE)
    operation = serializers.IntegerField(required=False)
    quantity = serializers.CharField(required=False, help_text="For good and scrap.")
    reason = serializers.CharField(
        required=False, help_text="Reason code, for pause, scrap and downtime_start."
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    override = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Allow more than the remaining quantity (needs the permission).",
    )

    def validate(self, attrs):
        needs = {
            EventKind.START: ["operation"],
            EventKind.PAUSE: ["operation", "reason"],
            EventKind.RESUME: ["operation"],
            EventKind.GOOD: ["operation", "quantity"],
            EventKind.SCRAP: ["operation", "quantity", "reason"],
            EventKind.DOWNTIME_START: ["reason"],
        }
        missing = {
            f: [_("This field is required for this kind.")]
            for f in needs.get(attrs["kind"], [])
            if attrs.get(f) in (None, "")
        }
        if missing:
            raise ValidationError(missing)
        return attrs


# --- OEE ---------------------------------------------------------------------------------------

OEE_MAX_WINDOW = timedelta(days=SHIFT_WINDOW_MAX_DAYS)


class AwareDateTimeField(serializers.CharField):
    """An ISO 8601 date and time with its offset: OEE windows are compared with UTC ledger times."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            parsed = parse_datetime(text)
        except ValueError:  # well formed but no such moment, such as 31 February
            parsed = None
        if parsed is None:
            raise ValidationError(_("An ISO 8601 date and time with its offset is required."))
        if parsed.tzinfo is None:
            raise ValidationError(_("Include the time zone offset."))
        return parsed


class OeeQuerySerializer(serializers.Serializer):
    workstation = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    line = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    start = AwareDateTimeField()
    end = AwareDateTimeField(help_text=f"At most {SHIFT_WINDOW_MAX_DAYS} days after the start.")

    def validate(self, attrs):
        start, end = attrs["start"], attrs["end"]
        if start >= end:
            raise ValidationError({"end": [_("The end must be after the start.")]})
        # Each day of the window is walked through the shift calendar: a window of centuries
        # kept a server busy for minutes.
        if end - start > OEE_MAX_WINDOW:
            reason = _("The window may span at most %(days)s days; ask for a year at a time.") % {
                "days": SHIFT_WINDOW_MAX_DAYS
            }
            raise ValidationError({"end": [reason]})
        if ("workstation" in attrs) == ("line" in attrs):
            raise ValidationError({"workstation": [_("Give either a workstation or a line.")]})
        return attrs
