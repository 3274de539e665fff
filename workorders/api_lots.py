"""The lots API: list and read lots and serial units (one level of genealogy), receive supplier
lots, and consume a lot at an operation (idempotent like every production endpoint)."""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from mes import selectors as plant
from mes.errors import MesError, ValidationFailed
from mes.filters import IdFilter
from mes.permissions import HasPermission
from workorders import gs1, services
from workorders.api import EventSerializer, ProductionRequestSerializer, visible_workstation
from workorders.models import Consumption, GenealogyLink, Lot, Product
from workorders.selectors.lots import lot_detail, lots_visible
from workorders.states import LotKind, LotStatus


class LotSerializer(serializers.ModelSerializer):
    # Plain strings: as enums they would collide in the schema with the other "kind" and "status".
    kind = serializers.CharField(read_only=True, help_text="lot or serial")
    status = serializers.CharField(read_only=True, help_text="available, consumed, scrapped or shipped")
    part_number = serializers.CharField(source="product.part_number", read_only=True)
    work_order_number = serializers.CharField(source="work_order.number", read_only=True, default=None)
    site_code = serializers.CharField(source="site.code", read_only=True)
    quantity_left = serializers.DecimalField(max_digits=14, decimal_places=3, read_only=True)
    gs1 = serializers.SerializerMethodField(help_text="The GS1 element string, if the product has a GTIN.")

    class Meta:
        model = Lot
        fields = [
            "id",
            "code",
            "kind",
            "product",
            "part_number",
            "site",
            "site_code",
            "work_order",
            "work_order_number",
            "shift_start",
            "quantity",
            "quantity_consumed",
            "quantity_left",
            "status",
            "supplier",
            "supplier_lot",
            "produced_at",
            "created_event",
            "gs1",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_gs1(self, lot: Lot) -> str | None:
        try:
            return gs1.element_string(lot)
        except MesError:
            return None


class LinkSerializer(serializers.ModelSerializer):
    """A genealogy link seen from one of its ends: the lot at the other end."""

    lot = serializers.SerializerMethodField()
    part_number = serializers.SerializerMethodField()

    class Meta:
        model = GenealogyLink
        fields = ["lot", "part_number", "quantity", "event", "created_at"]

    def _other(self, link: GenealogyLink) -> Lot:
        return link.parent if self.context.get("side") == "parent" else link.child

    @extend_schema_field(OpenApiTypes.STR)
    def get_lot(self, link: GenealogyLink) -> str:
        return self._other(link).code

    @extend_schema_field(OpenApiTypes.STR)
    def get_part_number(self, link: GenealogyLink) -> str:
        return self._other(link).product.part_number


class ConsumptionSerializer(serializers.ModelSerializer):
    work_order_number = serializers.CharField(source="work_order.number", read_only=True)
    operation_sequence = serializers.IntegerField(source="operation.sequence", read_only=True)
    occurred_at = serializers.DateTimeField(source="event.occurred_at", read_only=True)
    user = serializers.CharField(source="event.user.username", read_only=True)

    class Meta:
        model = Consumption
        fields = [
            "id",
            "event",
            "work_order",
            "work_order_number",
            "operation",
            "operation_sequence",
            "quantity",
            "quantity_allocated",
            "occurred_at",
            "user",
        ]
        read_only_fields = fields


class LotDetailSerializer(LotSerializer):
    parents = serializers.SerializerMethodField(help_text="The lots that went into this one.")
    children = serializers.SerializerMethodField(help_text="The lots this one went into.")
    consumptions = serializers.SerializerMethodField(help_text="Where this lot was consumed.")

    class Meta(LotSerializer.Meta):
        fields = [*LotSerializer.Meta.fields, "parents", "children", "consumptions"]
        read_only_fields = fields

    def _detail(self, lot):
        if "detail" not in self.context:
            self.context["detail"] = lot_detail(lot)
        return self.context["detail"]

    @extend_schema_field(LinkSerializer(many=True))
    def get_parents(self, lot):
        return LinkSerializer(self._detail(lot).parents, many=True, context={"side": "parent"}).data

    @extend_schema_field(LinkSerializer(many=True))
    def get_children(self, lot):
        return LinkSerializer(self._detail(lot).children, many=True, context={"side": "child"}).data

    @extend_schema_field(ConsumptionSerializer(many=True))
    def get_consumptions(self, lot):
        return ConsumptionSerializer(self._detail(lot).consumptions, many=True).data


class LotReceiveSerializer(serializers.Serializer):
    product = serializers.CharField(help_text="The part number received.")
    site = serializers.IntegerField(
        required=False, help_text="Where it is received; your only site if omitted."
    )
    code = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=64, help_text="Blank: the next number."
    )
    quantity = serializers.CharField()
    supplier = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    supplier_lot = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)


def receive_from(data: dict, user) -> Lot:
    """Receive a lot from a validated request body (shared by the API and the supervisor's form)."""
    product = Product.objects.filter(part_number=data["product"].strip(), active=True).first()
    if product is None:
        raise ValidationFailed(
            f"There is no part {data['product']}.", field="product", code="unknown_product"
        )
    visible = plant.sites_visible_to(user)
    if data.get("site"):
        site = visible.filter(pk=data["site"]).first()
    else:
        candidates = list(visible[:2])
        site = candidates[0] if len(candidates) == 1 else None
    if site is None:
        raise ValidationFailed("Choose a site you work at.", field="site", code="unknown_site")
    return services.lot_receive(
        product=product,
        site=site,
        quantity=data["quantity"],
        user=user,
        code=data.get("code", ""),
        supplier=data.get("supplier", ""),
        supplier_lot=data.get("supplier_lot", ""),
        reason=data.get("reason", "") or "Received through the API",
    )


class LotFilter(filters.FilterSet):
    product = IdFilter()
    part_number = filters.CharFilter(field_name="product__part_number")
    status = filters.ChoiceFilter(choices=LotStatus.choices)
    work_order = IdFilter()
    kind = filters.ChoiceFilter(choices=LotKind.choices)

    class Meta:
        model = Lot
        fields = ["product", "part_number", "status", "work_order", "kind"]


class LotViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Lots and serial units at the sites you can see."""

    queryset = Lot.objects.none()  # the real one, per user, is get_queryset()
    serializer_class = LotSerializer
    filterset_class = LotFilter
    lookup_field = "code"
    lookup_value_regex = r"[^/]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Lot.objects.none()
        lots = lots_visible(plant.sites_visible_to(self.request.user))
        return lots.order_by("-produced_at", "code")

    def get_serializer_class(self):
        return LotDetailSerializer if self.action == "retrieve" else LotSerializer

    @extend_schema(
        request=LotReceiveSerializer,
        responses={201: LotSerializer},
        summary="Receive a supplier lot (under its code, or the next number of the part)",
    )
    def create(self, request):
        body = LotReceiveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        lot = receive_from(body.validated_data, request.user)
        return Response(LotSerializer(lot).data, status=status.HTTP_201_CREATED)


class ConsumeRequestSerializer(ProductionRequestSerializer):
    lot = serializers.CharField(
        max_length=200, help_text="The lot or serial code, or a scanned GS1 element string holding it."
    )
    quantity = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Blank: what the order still needs of this component, at most what is left of the lot.",
    )


@extend_schema(
    request=ConsumeRequestSerializer,
    responses={201: EventSerializer, 200: EventSerializer},
    summary="Consume a component lot at an operation (idempotent: a retry with the same key returns the "
    "first result)",
)
@api_view(["POST"])
@permission_classes([HasPermission.of("workorders.record_production")])
def operation_consume(request, pk: int):
    body = ConsumeRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    data = body.validated_data
    workstation = visible_workstation(request.user, data["workstation"])
    recorded = services.operation_consume(
        operation_id=pk,
        workstation=workstation,
        user=request.user,
        lot_code=gs1.code_from_scan(data["lot"]),
        quantity=data["quantity"] or None,
        key=data["idempotency_key"],
        occurred_at=data.get("occurred_at"),
    )
    code = status.HTTP_200_OK if recorded.replayed else status.HTTP_201_CREATED
    return Response(EventSerializer(recorded.event).data, status=code)
