"""The quality API: templates (read), checklist runs and responses (submit, idempotent),
nonconformances, holds, and signatures (read)."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from mes.errors import ValidationFailed
from mes.idempotency import key_from_request
from mes.selectors import records_visible_to, sites_visible_to
from mes.signatures import Signature
from quality import services
from quality.models import (
    ChecklistResponse,
    ChecklistRun,
    ChecklistTemplate,
    Hold,
    Nonconformance,
)
from quality.serializers import (
    CorrectionSerializer,
    DispositionSerializer,
    HoldPlaceSerializer,
    HoldReleaseSerializer,
    HoldSerializer,
    NonconformanceOpenSerializer,
    NonconformanceSerializer,
    ResponseSerializer,
    RunSerializer,
    RunSubmitSerializer,
    SignatureSerializer,
    TemplateSerializer,
)
from quality.states import HoldStatus, NonconformanceStatus
from workorders.models import WorkOrder, WorkOrderOperation
from workorders.selectors.floor import require_visible_workstation


class Either(BasePermission):
    """Any one of these permissions (e.g. reading templates: authors, auditors and operators)."""

    perms: tuple[str, ...] = ()

    @classmethod
    def of(cls, *perms: str):
        return type("Either", (cls,), {"perms": perms})

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and any(user.has_perm(p) for p in self.perms))


def _visible_sites(request):
    return sites_visible_to(request.user).values("id")


class TemplateViewSet(viewsets.ReadOnlyModelViewSet):
    """Checklist templates with the items of their effective version."""

    serializer_class = TemplateSerializer
    permission_classes = [Either.of("quality.view_checklisttemplate", "quality.fill_checklist")]
    queryset = ChecklistTemplate.objects.none()

    def get_queryset(self):
        return (
            ChecklistTemplate.objects.filter(site__in=_visible_sites(self.request))
            .prefetch_related("versions__items")
            .order_by("code")
        )


def _created(serializer_class, instance, done) -> Response:
    return Response(
        serializer_class(instance).data,
        status=status.HTTP_200_OK if done.replayed else status.HTTP_201_CREATED,
    )


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Checklist runs with their responses. POST submits a run in one go, once per idempotency key:
    201 the first time, 200 with the same run for a retry."""

    serializer_class = RunSerializer
    queryset = ChecklistRun.objects.none()

    def get_permissions(self):
        if self.action in ("create", "correct"):
            return [Either.of("quality.fill_checklist")()]
        return [Either.of("quality.view_checklistrun")()]

    def get_queryset(self):
        return (
            ChecklistRun.objects.filter(workstation__line__site__in=_visible_sites(self.request))
            .select_related("template", "version")
            .prefetch_related("responses__item")
        )

    @extend_schema(request=RunSubmitSerializer, responses={201: RunSerializer, 200: RunSerializer})
    def create(self, request):
        body = RunSubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        key = key_from_request(request, {"idempotency_key": data.get("idempotency_key")})
        station = require_visible_workstation(request.user, data["workstation"])
        template = ChecklistTemplate.objects.filter(pk=data["template"], site_id=station.line.site_id).first()
        if template is None:
            raise ValidationFailed(
                _("No such checklist at this site."), field="template", code="unknown_template"
            )
        done = services.checklist_run_submit(
            key=key,
            user=request.user,
            workstation=station,
            template=template,
            answers=data["answers"],
            operation_id=data.get("operation"),
            trigger=data.get("trigger", ""),
            request=request,
            password=data.get("password"),
            badge_number=data.get("badge_number"),
            pin=data.get("pin"),
        )
        return _created(RunSerializer, self.get_queryset().get(pk=done.result_id), done)

    @extend_schema(
        request=CorrectionSerializer,
        responses={201: ResponseSerializer, 200: ResponseSerializer},
        parameters=[OpenApiParameter("response_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
    )
    @action(detail=False, methods=["post"], url_path=r"responses/(?P<response_id>[0-9]+)/correct")
    def correct(self, request, response_id: str):
        """Correct a submitted answer: a new response, with the reason, superseding the old one."""
        body = CorrectionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        get_object_or_404(
            ChecklistResponse.objects.filter(run__workstation__line__site__in=_visible_sites(request)),
            pk=response_id,
        )
        key = key_from_request(request, {"idempotency_key": body.validated_data.get("idempotency_key")})
        done = services.checklist_response_correct(
            response_id=int(response_id),
            value=body.validated_data["value"],
            reason=body.validated_data["reason"],
            user=request.user,
            key=key,
        )
        return _created(ResponseSerializer, ChecklistResponse.objects.get(pk=done.result_id), done)


class NonconformanceFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=NonconformanceStatus.choices)

    class Meta:
        model = Nonconformance
        fields = ["status"]


class NonconformanceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Nonconformances. POST opens one by hand (idempotent); `disposition` needs the quality role
    and the signer's password (an e-signature, meaning "approved")."""

    serializer_class = NonconformanceSerializer
    queryset = Nonconformance.objects.none()
    filterset_class = NonconformanceFilter

    def get_permissions(self):
        perm = {"create": "quality.add_nonconformance", "disposition": "quality.disposition_nonconformance"}
        return [Either.of(perm.get(self.action, "quality.view_nonconformance"))()]

    def get_queryset(self):
        return Nonconformance.objects.filter(site__in=_visible_sites(self.request))

    @extend_schema(
        request=NonconformanceOpenSerializer,
        responses={201: NonconformanceSerializer, 200: NonconformanceSerializer},
    )
    def create(self, request):
        body = NonconformanceOpenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        visible = _visible_sites(request)
        operation = WorkOrderOperation.objects.filter(
            pk=data.get("operation") or 0, workstation__line__site__in=visible
        ).first()
        order = WorkOrder.objects.filter(pk=data.get("work_order") or 0, line__site__in=visible).first()
        order = operation.work_order if operation else order
        site = (
            order.line.site
            if order
            else sites_visible_to(request.user).filter(pk=data.get("site") or 0).first()
        )
        if site is None:
            raise ValidationFailed(_("Say which site, order or operation."), field="site", code="required")
        done = services.nonconformance_open(
            key=key_from_request(request, {"idempotency_key": data.get("idempotency_key")}),
            user=request.user,
            site=site,
            title=data["title"],
            description=data["description"],
            work_order=order,
            operation=operation,
            lot_code=data["lot_code"],
        )
        return _created(NonconformanceSerializer, Nonconformance.objects.get(pk=done.result_id), done)

    @extend_schema(request=DispositionSerializer, responses=NonconformanceSerializer)
    @action(detail=True, methods=["post"])
    def disposition(self, request, pk=None):
        nc = self.get_object()
        body = DispositionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        nc = services.nonconformance_disposition(
            nonconformance_id=nc.pk, user=request.user, request=request, **body.validated_data
        )
        return Response(NonconformanceSerializer(nc).data)


class HoldFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=HoldStatus.choices)

    class Meta:
        model = Hold
        fields = ["status"]


class HoldViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Holds on work orders. POST places one (idempotent); `release` needs the quality role, a
    reason and the signer's password."""

    serializer_class = HoldSerializer
    queryset = Hold.objects.none()
    filterset_class = HoldFilter

    def get_permissions(self):
        perm = {"create": "quality.add_hold", "release": "quality.release_hold"}
        return [Either.of(perm.get(self.action, "quality.view_hold"))()]

    def get_queryset(self):
        return Hold.objects.filter(site__in=_visible_sites(self.request))

    @extend_schema(request=HoldPlaceSerializer, responses={201: HoldSerializer, 200: HoldSerializer})
    def create(self, request):
        body = HoldPlaceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        order = WorkOrder.objects.filter(
            pk=data["work_order"], line__site__in=_visible_sites(request)
        ).first()
        if order is None:
            raise ValidationFailed(_("No such order."), field="work_order", code="unknown_work_order")
        nc = Nonconformance.objects.filter(pk=data.get("nonconformance") or 0).first()
        done = services.hold_place(
            key=key_from_request(request, {"idempotency_key": data.get("idempotency_key")}),
            user=request.user,
            work_order=order,
            reason=data["reason"],
            nonconformance=nc,
        )
        return _created(HoldSerializer, Hold.objects.get(pk=done.result_id), done)

    @extend_schema(request=HoldReleaseSerializer, responses=HoldSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        hold = self.get_object()
        body = HoldReleaseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        services.hold_release(
            hold_id=hold.pk,
            user=request.user,
            reason=data["reason"],
            password=data["password"],
            request=request,
            key=key_from_request(request, {"idempotency_key": data.get("idempotency_key")}),
        )
        hold.refresh_from_db()
        return Response(HoldSerializer(hold).data)


class SignatureViewSet(viewsets.ReadOnlyModelViewSet):
    """Electronic signatures, with whether each still matches its record. Filter with
    `?record_type=quality.nonconformance&object_id=12`."""

    serializer_class = SignatureSerializer
    queryset = Signature.objects.none()
    permission_classes = [Either.of("mes.view_signature")]

    @extend_schema(
        parameters=[
            OpenApiParameter("record_type", OpenApiTypes.STR, description="app_label.model"),
            OpenApiParameter("object_id", OpenApiTypes.STR),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Signature.objects.none()
        # A signature belongs to the site of the record it signs: only those of visible sites.
        found = records_visible_to(
            self.request.user, Signature.objects.select_related("content_type").order_by("-signed_at", "-pk")
        )
        params = self.request.query_params
        if params.get("record_type", "").count(".") == 1:
            app_label, model = params["record_type"].lower().split(".")
            ct = ContentType.objects.filter(app_label=app_label, model=model).first()
            found = found.filter(content_type=ct)
        if params.get("object_id"):
            found = found.filter(object_id=params["object_id"])
        return found
