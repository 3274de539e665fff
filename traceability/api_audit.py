"""The audit trail over the API: `GET /api/v1/audit/` (the page's filters, newest first, paged by
limit and offset), `POST /api/v1/audit/seal/` and `GET /api/v1/audit/verify/`.

Paging gives `next`/`previous` links but no total count: counting a million history rows for
every page would cost more than the page itself.
"""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from mes import seal
from mes.permissions import HasPermission
from traceability.audit import AuditFilter, audit_entries

VIEW_AUDIT = "mes.view_auditseal"
SEAL_AUDIT = "mes.seal_audit_trail"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# A page is found by reading every history table from its newest row down to offset + limit, so
# the offset is bounded; further back, a narrower period (start, end) finds the rows.
MAX_OFFSET = 10_000


class AuditQuerySerializer(serializers.Serializer):
    model = serializers.CharField(
        required=False, allow_blank=True, help_text=_('A model label, e.g. "workorders.lot".')
    )
    record = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=_("A record's id or natural key (lot code, order number...); needs model."),
    )
    user = serializers.CharField(
        required=False, allow_blank=True, help_text=_("Username or user id of who made the change.")
    )
    start = serializers.CharField(
        required=False, allow_blank=True, help_text=_("ISO date or date-time, included.")
    )
    end = serializers.CharField(
        required=False, allow_blank=True, help_text=_("ISO date (the whole day) or date-time, included.")
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)
    offset = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_OFFSET,
        default=0,
        help_text=f"At most {MAX_OFFSET}; to read further back, narrow the period.",
    )


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField(help_text=_("The field's label."))
    name = serializers.CharField(help_text=_("The field's name."))
    old = serializers.CharField()
    new = serializers.CharField()


class AuditEntrySerializer(serializers.Serializer):
    model = serializers.CharField()
    verbose_name = serializers.CharField()
    record_id = serializers.CharField()
    record = serializers.CharField()
    history_id = serializers.IntegerField()
    history_type = serializers.ChoiceField(choices=[("+", "created"), ("~", "changed"), ("-", "deleted")])
    action = serializers.CharField()
    when = serializers.DateTimeField()
    user = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    changes = FieldChangeSerializer(many=True)
    seal = serializers.IntegerField(allow_null=True, help_text=_("The number of the seal covering this row."))


class AuditPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AuditEntrySerializer(many=True)


class SealSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    hash = serializers.CharField()
    previous_hash = serializers.CharField()
    row_count = serializers.IntegerField()
    sealed_at = serializers.DateTimeField()


class SealResultSerializer(serializers.Serializer):
    sealed_rows = serializers.IntegerField()
    seals = SealSerializer(many=True)


class ProblemSerializer(serializers.Serializer):
    seal = serializers.IntegerField()
    message = serializers.CharField()
    table = serializers.CharField(allow_blank=True)
    changed = serializers.ListField(child=serializers.IntegerField())
    missing = serializers.ListField(child=serializers.IntegerField())
    extra = serializers.ListField(child=serializers.IntegerField())
    covers = serializers.DictField(
        child=serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()))
    )


class VerifySerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    seals = serializers.IntegerField()
    rows = serializers.IntegerField()
    last_hash = serializers.CharField()
    unsealed = serializers.DictField(child=serializers.IntegerField())
    problem = ProblemSerializer(allow_null=True)
    broken_seals = serializers.ListField(
        child=serializers.CharField(),
        help_text=_("Sealed records (a released production record) changed since."),
    )


@extend_schema(
    parameters=[AuditQuerySerializer],
    responses=AuditPageSerializer,
    summary="The audit trail: changes of regulated records, newest first",
)
@api_view(["GET"])
@permission_classes([HasPermission.of(VIEW_AUDIT)])
def audit_list(request):
    query = AuditQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    q = query.validated_data
    limit, offset = q.pop("limit"), q.pop("offset")
    entries = audit_entries(AuditFilter(**q, viewer=request.user).clean(), limit=limit + 1, offset=offset)
    url = request.build_absolute_uri()
    next_url = replace_query_param(url, "offset", offset + limit) if len(entries) > limit else None
    previous_url = None
    if offset > 0:
        previous_url = (
            remove_query_param(url, "offset")
            if offset - limit <= 0
            else replace_query_param(url, "offset", offset - limit)
        )
    rows = [{**e.__dict__, "record_id": str(e.record_id), "action": e.action} for e in entries[:limit]]
    return Response(AuditPageSerializer({"next": next_url, "previous": previous_url, "results": rows}).data)


@extend_schema(request=None, responses=SealResultSerializer, summary="Seal the audit trail now")
@api_view(["POST"])
@permission_classes([HasPermission.of(SEAL_AUDIT)])
def audit_seal(request):
    sealed = seal.seal_audit_trail(user=request.user, trigger=seal.Trigger.API)
    data = {"sealed_rows": sum(s.row_count for s in sealed), "seals": sealed}
    return Response(SealResultSerializer(data).data, status=201 if sealed else 200)


@extend_schema(responses=VerifySerializer, summary="Walk the seal chain and recompute every seal")
@api_view(["GET"])
@permission_classes([HasPermission.of(VIEW_AUDIT)])
def audit_verify(request):
    result = seal.seal_verify()
    data = {
        "ok": result.ok,
        "seals": result.seals,
        "rows": result.rows,
        "last_hash": result.last_hash,
        "unsealed": result.unsealed,
        "problem": result.problem.__dict__ if result.problem else None,
        "broken_seals": [str(b) for b in result.broken_seals],
    }
    return Response(VerifySerializer(data).data)


urlpatterns = [
    path("audit/", audit_list, name="api_audit"),
    path("audit/seal/", audit_seal, name="api_audit_seal"),
    path("audit/verify/", audit_verify, name="api_audit_verify"),
]
