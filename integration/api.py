"""The ERP's API: idempotent PUTs of products, BOMs, routings and work orders by their ERP keys,
and a bulk endpoint answering per record. JSON, or XML (`<records><record type=".." key="..">`).

Every refusal names the field and the reason; a body that doesn't parse (or that the API's parser
refuses: a NUL character, JSON nested too deep, XML with a DOCTYPE) is refused with 400 and parked
(its body and the reason) for the console.
"""

from __future__ import annotations

from django.http.request import RawPostDataException
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.connectors.b2mml import XmlRefused, parse_xml
from integration.services import inbound
from integration.states import InboundKind
from mes.parsers import BodyRefused, JSONParser
from mes.permissions import HasPermission

MAX_BODY = 5 * 1024 * 1024


class XmlRecordsParser(BaseParser):
    """`<records><record type="product" key="FG-1"><name>..</name><unit>pcs</unit></record>...`

    Leaf elements become fields; elements with children become list items under their name + "s"
    (`<line>` → `lines`, `<operation>` → `operations`). One `<record>` alone is one record's data.
    Comments and processing instructions are skipped; a DOCTYPE is refused (`parse_xml`).
    """

    media_type = "application/xml"

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            root = parse_xml(stream.read())
        except XmlRefused as exc:
            raise ParseError(str(exc)) from None
        if root.tag == "records":
            records = [r for r in _elements(root) if r.tag == "record"]
            return {"records": [self._record(r, with_header=True) for r in records]}
        if root.tag == "record":
            return self._record(root, with_header=False)
        raise ParseError(f"XML parse error - expected <records> or <record>, got <{root.tag}>")

    def _record(self, element, *, with_header: bool) -> dict:
        data: dict = {}
        for child in _elements(element):
            if len(child):
                data.setdefault(f"{child.tag}s", []).append(
                    {g.tag: (g.text or "").strip() for g in _elements(child)}
                )
            else:
                data[child.tag] = (child.text or "").strip()
        if with_header:
            return {"type": element.get("type"), "key": element.get("key"), "data": data}
        return data


def _elements(parent):
    """The child elements of `parent`, without comments or processing instructions."""
    return [child for child in parent if isinstance(child.tag, str)]


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

    @extend_schema(request=dict, responses=dict, summary="Create or update one record by its ERP key")
    def put(self, request, **kwargs):
        result = inbound.inbound_apply(
            kind=self.kind, key=self.key(**kwargs), data=self.body(request), user=request.user
        )
        return Response(result.as_dict(), status=result.http_status)


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
    @extend_schema(request=dict, responses=dict, summary="Apply many records; the answer is per record")
    def post(self, request):
        body = self.body(request)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise ParseError("records: a list of {type, key, data} is required.")
        results = inbound.inbound_bulk(records=records, user=request.user)
        refused = sum(not r.ok for r in results)
        return Response(
            {
                "applied": len(results) - refused,
                "refused": refused,
                "results": [r.as_dict() for r in results],
            },
            status=status.HTTP_200_OK if not refused else status.HTTP_207_MULTI_STATUS,
        )
