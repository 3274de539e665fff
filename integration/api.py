"""The ERP's API: idempotent PUTs of products, BOMs, routings and work orders by their ERP keys,
and a bulk endpoint answering per record. JSON, or XML (`<records><record type=".." key="..">`).

Every refusal names the field and the reason; a body that doesn't parse (or that the API's parser
refuses: a NUL character, JSON nested too deep, XML with a DOCTYPE) is refused with 400 and parked
(its body and the reason) for the console.
"""

from __future__ import annotations

from django.http.request import RawPostDataException
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.serializers import (
    BulkAnswerSerializer,
    InboundResultSerializer,
    XmlRecordsParser,
    bulk_answer,
)
from integration.services import inbound
from integration.states import InboundKind
from mes.parsers import BodyRefused, JSONParser
from mes.permissions import HasPermission

MAX_BODY = 5 * 1024 * 1024


class ErpView(APIView):
    permission_classes = [HasPermission.of("integration.push_erp_data")]
    parser_classes = [JSONParser, XmlRecordsParser]

    def body(self, request):
        """The parsed body; an unparsable or refused one is parked with its reason and refused (400)."""
        try:
            raw = request._request.body[:MAX_BODY]
        except RawPostDataException:  # a form Django already read (no ERP parser takes forms)
            raw = b""
        try:
            return request.data
        except ParseError as exc:
            inbound.inbound_unreadable(raw=raw, reason=str(exc.detail), user=request.user)
            raise
        except BodyRefused as exc:
            inbound.inbound_unreadable(raw=raw, reason=f"{exc.field}: {exc.reason}", user=request.user)
            raise


class RecordView(ErpView):
    kind = ""

    def key(self, **kwargs) -> str:
        return kwargs["key"]

    @extend_schema(
        request=dict, responses=InboundResultSerializer, summary="Create or update one record by its ERP key"
    )
    def put(self, request, **kwargs):
        result = inbound.inbound_apply(
            kind=self.kind, key=self.key(**kwargs), data=self.body(request), user=request.user
        )
        return Response(InboundResultSerializer(result).data, status=result.http_status)


class ProductView(RecordView):
    kind = InboundKind.PRODUCT


class BomView(RecordView):
    kind = InboundKind.BOM


class RoutingView(RecordView):
    kind = InboundKind.ROUTING

    def key(self, **kwargs) -> str:
        return f"{kwargs['product']}/{kwargs['code']}"


class WorkOrderView(RecordView):
    kind = InboundKind.WORK_ORDER


class BulkView(ErpView):
    @extend_schema(
        request=dict, responses=BulkAnswerSerializer, summary="Apply many records; the answer is per record"
    )
    def post(self, request):
        body = self.body(request)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise ParseError(gettext("records: a list of {type, key, data} is required."))
        answer = bulk_answer(inbound.inbound_bulk(records=records, user=request.user))
        return Response(
            answer, status=status.HTTP_207_MULTI_STATUS if answer["refused"] else status.HTTP_200_OK
        )
