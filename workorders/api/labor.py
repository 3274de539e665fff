"""The labor API: each person's time on each operation, per shift, as the CSV the ERP books.

The same query and file as the desk download (`workorders.views.labor`): by order, or by site
and days; a refusal is 400 naming the field, an order or site the caller does not see is 404.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view, permission_classes, renderer_classes
from rest_framework.renderers import BaseRenderer, JSONRenderer

from mes.permissions import HasPermission
from workorders.views.labor import MAX_DAYS, VIEW, labor_csv_response, labor_query


class CsvRenderer(BaseRenderer):
    """Lets a client ask for `text/csv`; the view writes the CSV itself (refusals stay JSON)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # Only refusals reach here (the view answers the CSV itself): say why, as text.
        if isinstance(data, dict):
            return str(data.get("detail", data)).encode()
        return data if isinstance(data, bytes | str) else b""


@extend_schema(
    parameters=[
        OpenApiParameter("work_order", str, description="An order number (or give site, start and end)."),
        OpenApiParameter("site", int, description="A site, with start and end."),
        OpenApiParameter("start", OpenApiTypes.DATE, description="First day, site-local."),
        OpenApiParameter(
            "end", OpenApiTypes.DATE, description=f"Last day, included; at most {MAX_DAYS} days."
        ),
    ],
    responses={
        (200, "text/csv"): OpenApiResponse(
            OpenApiTypes.STR, description="One row per order, operation, person and shift."
        )
    },
    summary="Labor: time per person, operation and shift, as CSV",
)
@api_view(["GET"])
@renderer_classes([JSONRenderer, CsvRenderer])
@permission_classes([HasPermission.of(VIEW)])
def labor(request):
    return labor_csv_response(labor_query(request.user, request.query_params))
