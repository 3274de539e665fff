"""The lots API: list and read lots and serial units (one level of genealogy), receive supplier
lots, and consume a lot at an operation (idempotent like every production endpoint)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from mes import selectors as plant
from mes.errors import ValidationFailed
from mes.filters import IdFilter
from mes.permissions import HasPermission
from workorders import gs1, services
from workorders.api.lot_serializers import (
    ConsumeRequestSerializer,
    LotDetailSerializer,
    LotReceiveSerializer,
    LotSerializer,
)
from workorders.api.serializers import EventSerializer
from workorders.models import Lot, Product
from workorders.selectors.floor import require_visible_workstation
from workorders.selectors.lots import lots_visible
from workorders.states import LotKind, LotStatus


def receive_from(data: dict, user) -> Lot:
    """Receive a lot from a validated request body: the part by its number, the site among those
    `user` sees (their only one when none is named)."""
    product = Product.objects.filter(part_number=data["product"].strip(), active=True).first()
    if product is None:
        raise ValidationFailed(
            _("There is no part %(part)s.") % {"part": data["product"]},
            field="product",
            code="unknown_product",
        )
    visible = plant.sites_visible_to(user)
    if data.get("site"):
        site = visible.filter(pk=data["site"]).first()
    else:
        candidates = list(visible[:2])
        site = candidates[0] if len(candidates) == 1 else None
    if site is None:
        raise ValidationFailed(_("Choose a site you work at."), field="site", code="unknown_site")
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
    workstation = require_visible_workstation(request.user, data["workstation"])
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
