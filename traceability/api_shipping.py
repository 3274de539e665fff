"""The shipping API: ship a lot or serial unit to a customer, and list what left the plant.

A refusal is the service's (`traceability.shipping.lot_ship`): 400 naming the field for bad input,
404 on `lot` for a lot at no site of the caller's, 409 on `lot` for one that may not leave (its
production record not released where the site requires it, a quality hold, nothing left).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from mes import idempotency
from mes.permissions import HasPermission
from mes.selectors import sites_visible_to
from traceability.models import Shipment
from traceability.shipping import lot_ship

SHIP = "traceability.ship_lot"
VIEW = "traceability.view_shipment"


class ShipRequestSerializer(serializers.Serializer):
    idempotency_key = serializers.CharField(help_text=_("A UUID made by the client; a retry reuses it."))
    lot = serializers.CharField(max_length=64, help_text=_("The lot or serial number."))
    customer = serializers.CharField(max_length=200, help_text=_("Who it ships to."))
    reference = serializers.CharField(
        max_length=100, help_text=_("The customer's order or our delivery note it ships under.")
    )
    quantity = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=_("Blank: all that is left of the lot.")
    )
    shipped_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class ShipmentSerializer(serializers.ModelSerializer):
    lot = serializers.CharField(source="lot.code")
    part_number = serializers.CharField(source="lot.product.part_number")
    unit = serializers.CharField(source="lot.product.unit")
    site = serializers.CharField(source="site.code")
    shipped_by = serializers.CharField(source="shipped_by.printed_name")
    lot_status = serializers.CharField(source="lot.status")

    class Meta:
        model = Shipment
        fields = [
            "id", "lot", "part_number", "quantity", "unit", "customer", "reference", "note", "site",
            "shipped_by", "shipped_at", "lot_status",
        ]  # fmt: skip


class ShipmentListCreate(generics.ListAPIView):
    """GET: shipments at your sites, newest first. POST: ship a lot (all that is left, or a quantity)."""

    serializer_class = ShipmentSerializer

    def get_permissions(self):
        return [HasPermission.of(SHIP if self.request.method == "POST" else VIEW)()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Shipment.objects.none()
        shipments = Shipment.objects.filter(site__in=sites_visible_to(self.request.user))
        lot = self.request.query_params.get("lot")
        if lot:
            shipments = shipments.filter(lot__code=lot)
        return shipments.select_related("lot__product", "site", "shipped_by").order_by("-shipped_at", "-pk")

    @extend_schema(
        request=ShipRequestSerializer,
        responses={201: ShipmentSerializer, 200: ShipmentSerializer},
        summary="Ship a lot or serial unit to a customer",
    )
    def post(self, request):
        body = ShipRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        shipped = lot_ship(
            key=idempotency.parse_key(data["idempotency_key"]),
            code=data["lot"],
            customer=data["customer"],
            reference=data["reference"],
            quantity=data["quantity"] or None,
            shipped_at=data["shipped_at"],
            note=data["note"],
            user=request.user,
        )
        # A retry answers like the first time, with 200: the lot shipped once.
        answer = status.HTTP_200_OK if shipped.replayed else status.HTTP_201_CREATED
        return Response(ShipmentSerializer(shipped.shipment).data, status=answer)
