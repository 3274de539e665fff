"""The production API: master data, work orders and their transitions, ledger events, OEE."""

from __future__ import annotations

from datetime import timedelta

from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from mes import selectors as plant
from mes.errors import ValidationFailed
from mes.filters import BIGINT_MAX, ChoicesInFilter, IdFilter
from mes.idempotency import parse_key
from mes.models import Line, Workstation
from mes.permissions import HasPermission
from mes.selectors import SHIFT_WINDOW_MAX_DAYS
from workorders import selectors, services
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
from workorders.states import EventKind, ReasonKind, WorkOrderStatus

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
        fields = ["id", "code", "name", "kind", "loss", "planned", "active"]

    def validate(self, attrs):
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        loss = attrs.get("loss", getattr(self.instance, "loss", ""))
        if kind == "downtime" and not loss:
            raise ValidationError({"loss": ["A downtime reason maps to one of the six big losses."]})
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


class MasterDataViewSet(viewsets.ModelViewSet):
    """CRUD whose writes go through the master-data service, so each leaves history."""

    def perform_create(self, serializer):
        serializer.instance = services.master_data_save(
            instance=serializer.Meta.model(**serializer.validated_data),
            user=self.request.user,
            reason=self.request.data.get("reason", "Created through the API"),
        )

    def perform_update(self, serializer):
        instance = serializer.instance
        for field, value in serializer.validated_data.items():
            setattr(instance, field, value)
        services.master_data_save(
            instance=instance,
            user=self.request.user,
            reason=self.request.data.get("reason", "Changed through the API"),
        )

    def perform_destroy(self, instance):
        services.master_data_delete(
            instance=instance, user=self.request.user, reason=self.request.query_params.get("reason", "")
        )


class ProductViewSet(MasterDataViewSet):
    queryset = Product.objects.all()
    serializer_class = ProductSerializer


class BomLineViewSet(MasterDataViewSet):
    queryset = BomLine.objects.select_related("product", "component")
    serializer_class = BomLineSerializer


class ReasonCodeFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=ReasonKind.choices)

    class Meta:
        model = ReasonCode
        fields = ["kind"]


class ReasonCodeViewSet(MasterDataViewSet):
    queryset = ReasonCode.objects.all()
    serializer_class = ReasonCodeSerializer
    filterset_class = ReasonCodeFilter


class RoutingViewSet(MasterDataViewSet):
    queryset = Routing.objects.select_related("product").prefetch_related("operations")
    serializer_class = RoutingSerializer

    def _save(self, serializer, routing):
        data = dict(serializer.validated_data)
        operations = data.pop("operations", None)
        for field, value in data.items():
            setattr(routing, field, value)
        serializer.instance = services.routing_save(
            routing=routing,
            operations=operations,
            user=self.request.user,
            reason=self.request.data.get("reason", "Saved through the API"),
        )

    def perform_create(self, serializer):
        self._save(serializer, Routing())

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance)


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


class MoveSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=["up", "down"])


class WorkOrderFilter(filters.FilterSet):
    status = ChoicesInFilter(
        choices=WorkOrderStatus.choices, help_text="One or more statuses, comma separated."
    )
    line = IdFilter(field_name="line")

    class Meta:
        model = WorkOrder
        fields = ["status", "line"]


class WorkOrderViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = WorkOrderSerializer
    filterset_class = WorkOrderFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return WorkOrder.objects.none()
        visible = plant.sites_visible_to(self.request.user)
        return (
            WorkOrder.objects.filter(line__site__in=visible)
            .select_related("product")
            .prefetch_related("operations__workstation")
        )

    def perform_create(self, serializer):
        data = serializer.validated_data
        if data["line"].site not in plant.sites_visible_to(self.request.user):
            raise ValidationFailed("You can't plan orders on that line.", field="line")
        serializer.instance = services.workorder_create(
            number=data["number"],
            product=data["product"],
            routing=data["routing"],
            line=data["line"],
            quantity=data["quantity"],
            due=data.get("due"),
            priority=data.get("priority"),
            user=self.request.user,
        )

    @extend_schema(request=WorkOrderUpdateSerializer, responses=WorkOrderSerializer)
    def partial_update(self, request, pk=None):
        order = self.get_object()
        body = WorkOrderUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        updated = services.workorder_update(work_order_id=order.pk, user=request.user, **body.validated_data)
        return Response(WorkOrderSerializer(self.get_queryset().get(pk=updated.pk)).data)

    @extend_schema(
        request=TransitionSerializer,
        responses=WorkOrderSerializer,
        summary="Release, hold, resume, complete, close or cancel an order (idempotent)",
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        order = self.get_object()
        if not request.user.has_perm("workorders.transition_workorder"):
            self.permission_denied(request)
        body = TransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data["status"] == "resume":
            recorded = services.workorder_release_hold(
                work_order_id=order.pk,
                user=request.user,
                key=data["idempotency_key"],
                version=data["version"],
                reason=data["reason"],
            )
        else:
            recorded = services.workorder_transition(
                work_order_id=order.pk,
                target=data["status"],
                user=request.user,
                key=data["idempotency_key"],
                version=data["version"],
                reason=data["reason"],
                reason_code=data["reason_code"] or None,
            )
        code = status.HTTP_200_OK if recorded.replayed else status.HTTP_201_CREATED
        return Response(WorkOrderSerializer(self.get_queryset().get(pk=order.pk)).data, status=code)

    @extend_schema(request=MoveSerializer, responses=WorkOrderSerializer, summary="Move an order up or down")
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        order = self.get_object()
        if not request.user.has_perm("workorders.change_workorder"):
            self.permission_denied(request)
        body = MoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.workorder_move(
            work_order_id=order.pk, direction=body.validated_data["direction"], user=request.user
        )
        return Response(WorkOrderSerializer(self.get_queryset().get(pk=order.pk)).data)


# --- Ledger events -----------------------------------------------------------------------------

RECORDABLE = [
    EventKind.START,
    EventKind.PAUSE,
    EventKind.RESUME,
    EventKind.COMPLETE,
    EventKind.SCRAP,
    EventKind.DOWNTIME_START,
    EventKind.DOWNTIME_END,
]


class EventSerializer(serializers.ModelSerializer):
    reason = serializers.SlugRelatedField(slug_field="code", read_only=True)

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
            raise ValidationError("Not an ISO 8601 date and time.")
        return parsed


def visible_workstation(user, pk: int) -> Workstation:
    """The workstation a production request names, if it is on a site `user` sees."""
    # By id: the default ordering (site and line codes) would join the site for one row.
    workstation = (
        Workstation.objects.filter(pk=pk, line__site__in=plant.sites_visible_to(user))
        .select_related("line")
        .order_by("pk")
        .first()
    )
    if workstation is None:
        raise ValidationFailed("No such workstation.", field="workstation", code="unknown_workstation")
    return workstation


class EventRequestSerializer(ProductionRequestSerializer):
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in RECORDABLE])
    operation = serializers.IntegerField(required=False)
    quantity = serializers.CharField(required=False, help_text="For complete and scrap.")
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
            EventKind.COMPLETE: ["operation", "quantity"],
            EventKind.SCRAP: ["operation", "quantity", "reason"],
            EventKind.DOWNTIME_START: ["reason"],
        }
        missing = {
            f: ["This field is required for this kind."]
            for f in needs.get(attrs["kind"], [])
            if attrs.get(f) in (None, "")
        }
        if missing:
            raise ValidationError(missing)
        return attrs


class EventFilter(filters.FilterSet):
    work_order = IdFilter()
    operation = IdFilter()
    workstation = IdFilter()
    kind = filters.ChoiceFilter(choices=EventKind.choices)

    class Meta:
        model = ProductionEvent
        fields = ["work_order", "operation", "workstation", "kind"]


class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The production ledger: read it, or append to it (idempotent per key)."""

    queryset = ProductionEvent.objects.none()  # the real one, per user, is get_queryset()
    serializer_class = EventSerializer
    filterset_class = EventFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ProductionEvent.objects.none()
        visible = plant.sites_visible_to(self.request.user)
        return ProductionEvent.objects.filter(line__site__in=visible).select_related("reason").order_by("-id")

    def get_permissions(self):
        if self.action == "create":
            return [HasPermission.of("workorders.record_production")()]
        return super().get_permissions()

    @extend_schema(
        request=EventRequestSerializer,
        responses={201: EventSerializer, 200: EventSerializer},
        summary="Record production (idempotent: a retry with the same key returns the first result)",
    )
    def create(self, request):
        body = EventRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        workstation = visible_workstation(request.user, data["workstation"])
        recorded = services.event_record(user=request.user, workstation=workstation, data=data)
        code = status.HTTP_200_OK if recorded.replayed else status.HTTP_201_CREATED
        return Response(EventSerializer(recorded.event).data, status=code)


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
            raise ValidationError("An ISO 8601 date and time with its offset is required.")
        if parsed.tzinfo is None:
            raise ValidationError("Include the time zone offset.")
        return parsed


class OeeQuerySerializer(serializers.Serializer):
    workstation = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    line = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    start = AwareDateTimeField()
    end = AwareDateTimeField(help_text=f"At most {SHIFT_WINDOW_MAX_DAYS} days after the start.")

    def validate(self, attrs):
        start, end = attrs["start"], attrs["end"]
        if start >= end:
            raise ValidationError({"end": ["The end must be after the start."]})
        # Each day of the window is walked through the shift calendar: a window of centuries
        # kept a server busy for minutes.
        if end - start > OEE_MAX_WINDOW:
            reason = f"The window may span at most {SHIFT_WINDOW_MAX_DAYS} days; ask for a year at a time."
            raise ValidationError({"end": [reason]})
        if ("workstation" in attrs) == ("line" in attrs):
            raise ValidationError({"workstation": ["Give either a workstation or a line."]})
        return attrs


@extend_schema(
    parameters=[OeeQuerySerializer],
    responses=OpenApiTypes.OBJECT,
    summary="OEE = availability x performance x quality, for a workstation or a line over a window",
)
@api_view(["GET"])
@permission_classes([HasPermission.of("workorders.view_workorder")])
def oee(request):
    query = OeeQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    q = query.validated_data
    start, end = q["start"], q["end"]
    visible = plant.sites_visible_to(request.user)
    if "workstation" in q:
        station = get_object_or_404(
            Workstation.objects.select_related("line__site"), pk=q["workstation"], line__site__in=visible
        )
        result = selectors.oee_for_workstation(station, start, end)
    else:
        line = get_object_or_404(Line.objects.select_related("site"), pk=q["line"], site__in=visible)
        result = selectors.oee_for_line(line, start, end)
    return Response(result.as_dict())
