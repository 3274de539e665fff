"""The losses API: the six big losses, the OEE loss waterfall and the Pareto of downtime and scrap
reasons, as JSON.

It reads the same query as the supervisor's losses page (`workorders.views.losses.loss_report`),
so the page, its CSV and this answer the same input with the same figures and the same refusals.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from mes.models import Line
from mes.permissions import HasPermission
from workorders.views.losses import VIEW, loss_report


@extend_schema(
    parameters=[
        OpenApiParameter("line", int, description="A line (or give a workstation)."),
        OpenApiParameter("workstation", int, description="A workstation (or give a line)."),
        OpenApiParameter("period", str, enum=["shift", "day", "week"], description="Default: day."),
        OpenApiParameter(
            "date", OpenApiTypes.DATE, description="A day of the period, site-local; default today."
        ),
        OpenApiParameter("shift", int, description="The shift, for a shift period."),
    ],
    responses=OpenApiTypes.OBJECT,
    summary="Six big losses, OEE loss waterfall and Pareto of downtime and scrap reasons",
)
@api_view(["GET"])
@permission_classes([HasPermission.of(VIEW)])
def losses(request):
    query = loss_report(request.user, request.query_params)
    if query.report is None:
        return Response({"detail": "You see no line.", "code": "not_found"}, status=404)
    subject = query.subject
    kind = "line" if isinstance(subject, Line) else "workstation"
    return Response(
        {
            kind: subject.pk,
            "period": query.period,
            "date": query.day.isoformat(),
            "shift": query.shift.pk if query.shift else None,
            **query.report.as_dict(),
        }
    )
