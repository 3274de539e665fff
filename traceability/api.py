"""The traceability API: trace a serial or lot (JSON), and report jobs (create, status, download)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext, override
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from mes.errors import ValidationFailed
from mes.permissions import HasPermission
from traceability import selectors, services
from traceability.models import ReportJob, ReportKind, ReportStatus
from traceability.views.reports import file_response, job_for
from traceability.views.trace import check_inline_size

VIEW_LOT = "workorders.view_lot"


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class TraceSerializer(serializers.Serializer):
    lot = serializers.CharField()
    direction = serializers.CharField(help_text=_("backward or forward."))
    content_hash = serializers.CharField(help_text=_("SHA-256 of the canonical JSON of `trace`."))
    trace = serializers.JSONField(
        help_text=_("Nodes with their context, links, and (forward) the affected units.")
    )


class TraceView(APIView):
    permission_classes = [HasPermission.of(VIEW_LOT)]

    @extend_schema(
        summary="Trace a serial or lot backward (what went into it) or forward (what it went into)",
        parameters=[
            OpenApiParameter(
                "code", OpenApiTypes.STR, OpenApiParameter.PATH, description="Serial or lot number."
            ),
            OpenApiParameter(
                "direction", OpenApiTypes.STR, enum=list(selectors.DIRECTIONS), default="backward"
            ),
        ],
        responses={200: TraceSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request, code: str):
        direction = request.query_params.get("direction", "backward")
        if direction not in selectors.DIRECTIONS:
            raise ValidationFailed(
                gettext("The direction is 'backward' or 'forward'."),
                field="direction",
                code="invalid_direction",
            )
        lot = selectors.lot_for_trace(user=request.user, code=code)
        trace = selectors.trace(lot, direction, user=request.user)
        check_inline_size(trace)
        with override(None):  # the data's words in the source language: its hash is everyone's
            trace.context = selectors.trace_context(trace)
            data = selectors.trace_data(trace)
        body = {
            "lot": lot.code,
            "direction": direction,
            "content_hash": selectors.trace_hash(data),
            "trace": data,
        }
        return Response(TraceSerializer(body).data)


class ReportJobCreateSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="One of: " + ", ".join(ReportKind.values) + ".")
    code = serializers.CharField(
        required=False, allow_blank=True, help_text=_("Trace reports: the serial or lot.")
    )
    direction = serializers.CharField(required=False, default="backward", help_text=_("backward or forward."))
    model = serializers.CharField(
        required=False, allow_blank=True, help_text=_("Audit reports: a model label.")
    )
    record = serializers.CharField(
        required=False, allow_blank=True, help_text=_("Audit reports: id or name.")
    )
    user = serializers.CharField(required=False, allow_blank=True, help_text=_("Audit reports: a username."))
    start = serializers.CharField(
        required=False, allow_blank=True, help_text=_("Audit reports: ISO date or time.")
    )
    end = serializers.CharField(
        required=False, allow_blank=True, help_text=_("Audit reports: ISO date or time.")
    )


class ReportJobSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()
    kind = serializers.CharField(read_only=True, help_text="One of: " + ", ".join(ReportKind.values) + ".")
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)

    class Meta:
        model = ReportJob
        fields = [
            "id", "kind", "params", "status", "progress", "filename", "content_type", "content_hash",
            "requested_by", "created_at", "started_at", "finished_at", "error", "download_url",
        ]  # fmt: skip

    def get_download_url(self, job) -> str | None:
        if job.status != ReportStatus.DONE:
            return None
        url = reverse("api_report_download", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class ReportJobListCreate(APIView):
    permission_classes = [HasPermission.of(VIEW_LOT)]

    @extend_schema(
        summary="Ask for a report (trace PDF/CSV/JSON/EPCIS, audit trail PDF/CSV); built in the background",
        request=ReportJobCreateSerializer,
        responses={
            201: ReportJobSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def post(self, request):
        given = ReportJobCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        params = dict(given.validated_data)
        kind = params.pop("kind")
        job = services.report_job_create(user=request.user, kind=kind, params=params)
        job.refresh_from_db()
        return Response(
            ReportJobSerializer(job, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class ReportJobDetail(APIView):
    permission_classes = [HasPermission.of(VIEW_LOT)]

    @extend_schema(summary="A report job: status, progress, and its download URL when done",
                   responses={200: ReportJobSerializer, 404: ErrorSerializer})  # fmt: skip
    def get(self, request, pk: int):
        return Response(ReportJobSerializer(job_for(request.user, pk), context={"request": request}).data)


class ReportJobDownload(APIView):
    permission_classes = [HasPermission.of(VIEW_LOT)]

    @extend_schema(
        summary="The finished report's file",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY),
            404: ErrorSerializer,
        },
    )
    def get(self, request, pk: int):
        response = file_response(job_for(request.user, pk))
        if response is None:
            raise NotFound(gettext("This report is not ready."))
        return response
