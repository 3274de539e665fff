"""Serializers of the lots API: lots and serial units with one level of genealogy, receipts,
consumption requests."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mes.errors import MesError
from workorders import gs1
from workorders.api.serializers import ProductionRequestSerializer
from workorders.models import Consumption, GenealogyLink, Lot
from workorders.selectors.lots import lot_detail


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
