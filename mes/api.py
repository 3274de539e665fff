"""API plumbing shared by every app: the error format, and the plant endpoints.

Every API error is JSON: `{"detail": message, "code": code, "errors": {field: [reason, ...]}}`;
`errors` is present when particular fields are at fault.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, viewsets
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from mes import roles, selectors, services
from mes.errors import MesError
from mes.models import Line, Shift, Site, Workstation


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [f"{k}: {m}" for k, v in detail.items() for m in _flatten(v)]
    if isinstance(detail, list):
        return [m for item in detail for m in _flatten(item)]
    return [str(detail)]


def exception_handler(exc, context):
    if isinstance(exc, MesError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(errors)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        errors = {field: _flatten(reasons) for field, reasons in detail.items()}
        first = next(iter(errors.items()), ("", ["Invalid input."]))
        response.data = {"detail": f"{first[0]}: {first[1][0]}", "code": "invalid", "errors": errors}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = {"detail": str(detail), "code": code}
    return response


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "code", "name", "time_zone"]


class LineSerializer(serializers.ModelSerializer):
    class Meta:
        model = Line
        fields = ["id", "site", "code", "name"]


class WorkstationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Workstation
        fields = ["id", "line", "code", "name", "active"]


class ShiftSerializer(serializers.ModelSerializer):
    class Meta:
        model = Shift
        fields = ["id", "site", "name", "start_time", "end_time", "weekdays"]


class SiteScopedViewSet(viewsets.ReadOnlyModelViewSet):
    """Read-only plant endpoints, limited to the sites the caller may see."""

    site_path = "id"

    def get_queryset(self):
        visible = selectors.sites_visible_to(self.request.user).values("id")
        return super().get_queryset().filter(**{f"{self.site_path}__in": visible})


class SiteViewSet(SiteScopedViewSet):
    queryset = Site.objects.all()
    serializer_class = SiteSerializer


class LineViewSet(SiteScopedViewSet):
    queryset = Line.objects.select_related("site")
    serializer_class = LineSerializer
    site_path = "site_id"


class WorkstationViewSet(SiteScopedViewSet):
    queryset = Workstation.objects.select_related("line")
    serializer_class = WorkstationSerializer
    site_path = "line__site_id"


class ShiftViewSet(SiteScopedViewSet):
    queryset = Shift.objects.all()
    serializer_class = ShiftSerializer
    site_path = "site_id"


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    printed_name = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    sites = serializers.ListField(child=serializers.CharField())


@extend_schema(responses=MeSerializer, summary="The signed-in user, their role and the sites they see")
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def me(request):
    user = request.user
    data = {
        "username": user.username,
        "printed_name": user.printed_name,
        "role": roles.role_of(user),
        "sites": list(selectors.sites_visible_to(user).values_list("code", flat=True)),
    }
    return Response(MeSerializer(data).data)


class ApiErrorSerializer(serializers.Serializer):
    """The error format of every endpoint (see the module's docstring)."""

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text=_("Send it with every request as `Authorization: Token <token>`.")
    )


@extend_schema(
    request=TokenRequestSerializer,
    responses={200: TokenSerializer, 400: ApiErrorSerializer, 429: ApiErrorSerializer},
    summary="Exchange a username and password for the person's API token",
    description=(
        "Answers the person's token, created on first request. Throttled and logged with every "
        "other way in (per account and per client address): 400 names the field at fault, 429 "
        "says how long to wait."
    ),
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def auth_token(request):
    serializer = TokenRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    token = services.api_token_issue(
        request=request,
        username=serializer.validated_data["username"],
        password=serializer.validated_data["password"],
    )
    return Response(TokenSerializer({"token": token.key}).data)
