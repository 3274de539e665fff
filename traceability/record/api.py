"""The production record API: one record (JSON), the list of records by status with filters, and
the signed release or rejection."""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from mes.errors import ValidationFailed
from mes.permissions import HasPermission
from traceability.record import services
from traceability.record.forms import RecordFilterForm
from traceability.record.review import record_view, record_view_data, records_for
from traceability.record.selectors import order_for_record

VIEW_RECORD = "traceability.view_recordreview"
MAX_LIMIT = 500


class RecordListItemSerializer(serializers.Serializer):
    number = serializers.CharField()
    product = serializers.CharField(source="product.part_number")
    site = serializers.CharField(source="line.site.code")
    line = serializers.CharField(source="line.code")
    order_status = serializers.CharField(source="status")
    record_status = serializers.CharField()
    completed_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(source="record_decided_at", allow_null=True)


class DecisionSerializer(serializers.Serializer):
    password = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=500)


class RecordListView(APIView):
    permission_classes = [HasPermission.of(VIEW_RECORD)]

    @extend_schema(
        summary="Production records by status (open, in review, released, rejected), with filters",
        parameters=[
            OpenApiParameter(name, OpenApiTypes.STR)
            for name in ("status", "site", "line", "product", "number", "completed_from", "completed_to")
        ]
        + [OpenApiParameter("limit", OpenApiTypes.INT), OpenApiParameter("offset", OpenApiTypes.INT)],
        responses={200: RecordListItemSerializer(many=True)},
    )
    def get(self, request):
        form = RecordFilterForm(request.query_params)
        if not form.is_valid():
            field, errors = next(iter(form.errors.items()))
            raise ValidationFailed(errors[0], field=field)
        rows = records_for(request.user, **{k: v for k, v in form.cleaned_data.items() if v})
        limit, offset = _int(request, "limit", 100, MAX_LIMIT), _int(request, "offset", 0, None)
        count = rows.count()
        page = rows[offset : offset + limit]
        return Response({"count": count, "results": RecordListItemSerializer(page, many=True).data})


def _int(request, name: str, default: int, most: int | None) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(
            gettext("'%(name)s' is a whole number.") % {"name": name}, field=name, code="invalid"
        ) from None
    if value < 0 or (most is not None and value > most):
        raise ValidationFailed(
            gettext("'%(name)s' is between 0 and %(most)s.") % {"name": name, "most": most},
            field=name,
            code="out_of_range",
        )
    return value


class RecordView(APIView):
    permission_classes = [HasPermission.of(VIEW_RECORD)]

    @extend_schema(
        summary="An order's production record: status, seal, exceptions with comments, the full record",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, number: str):
        order = order_for_record(user=request.user, number=number)
        return Response(record_view_data(record_view(order)))


class RecordDecisionView(APIView):
    """POST with the reviewer's password (the e-signature) and a comment."""

    permission_classes = [HasPermission.of(services.REVIEW_PERMISSION)]
    decision = "release"

    @extend_schema(
        summary="Release or reject an order's production record with an e-signature",
        request=DecisionSerializer,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request, number: str):
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = order_for_record(user=request.user, number=number)
        act = services.record_release if self.decision == "release" else services.record_reject
        act(
            work_order=order,
            user=request.user,
            password=body.validated_data.get("password", ""),
            comment=body.validated_data.get("comment", ""),
            request=request,
        )
        return Response(record_view_data(record_view(order)))
