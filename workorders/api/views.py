"""The production API's views: master data, work orders and their transitions, ledger events, OEE.

Each parses with a serializer of `workorders.api.serializers`, checks access, and calls one
service or selector.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.response import Response

from mes import selectors as plant
from mes.errors import ValidationFailed
from mes.filters import ChoicesInFilter, IdFilter
from mes.models import Line, Workstation
from mes.permissions import HasPermission
from workorders import selectors, services
from workorders.api.serializers import (
    BomLineSerializer,
    EventRequestSerializer,
    EventSerializer,
    MoveSerializer,
    OeeQuerySerializer,
    ProductSerializer,
    ReasonCodeSerializer,
    RoutingSerializer,
    TransitionSerializer,
    WorkOrderSerializer,
    WorkOrderUpdateSerializer,
)
from workorders.models import BomLine, Product, ProductionEvent, ReasonCode, Routing, WorkOrder
from workorders.selectors.floor import require_visible_workstation
from workorders.states import EventKind, ReasonKind, WorkOrderStatus, kind_of_word, kind_word

# --- Master data -------------------------------------------------------------------------------


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
            instance=instance,
            user=self.request.user,
            reason=self.request.query_params.get("reason", "Deleted through the API"),
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
            raise ValidationFailed(_("You can't plan orders on that line."), field="line")
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
                override=data["override"],
                password=data["password"] or None,
                request=request,
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


class EventFilter(filters.FilterSet):
    work_order = IdFilter()
    operation = IdFilter()
    workstation = IdFilter()
    # By the word the API answers with ("good"); the stored code ("complete") is understood too.
    kind = filters.ChoiceFilter(
        choices=[(kind_word(k), k.label) for k in EventKind] + [(EventKind.GOOD.value, EventKind.GOOD.label)],
        method="filter_kind",
    )

    class Meta:
        model = ProductionEvent
        fields = ["work_order", "operation", "workstation", "kind"]

    def filter_kind(self, queryset, name, value):
        return queryset.filter(kind=kind_of_word(value))


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
        workstation = require_visible_workstation(request.user, data["workstation"])
        recorded = services.event_record(user=request.user, workstation=workstation, data=data)
        code = status.HTTP_200_OK if recorded.replayed else status.HTTP_201_CREATED
        return Response(EventSerializer(recorded.event).data, status=code)


# --- OEE ---------------------------------------------------------------------------------------


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
