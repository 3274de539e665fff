"""The ERP API's wire format: how an XML body reads as records, and how the answer to each record
and to a bulk request looks in JSON. Shape only: what a record means is the inbound services'."""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from integration.connectors.b2mml import XmlRefused, parse_xml
from integration.services.inbound import InboundResult


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
        raise ParseError(
            gettext("XML parse error - expected <records> or <record>, got <%(tag)s>") % {"tag": root.tag}
        )

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


@extend_schema_field(OpenApiTypes.STR)
class AsSentField(serializers.ReadOnlyField):
    """A value answered as the ERP sent it: a record's type or key may arrive as a number, or be
    missing, and the answer names it as it came."""


class InboundResultSerializer(serializers.Serializer):
    """One record's answer: its type, key and outcome; the id once applied; for a refusal the
    reason (`detail`), a `code`, and the errors by field."""

    type = AsSentField(source="kind")
    key = AsSentField()
    outcome = serializers.CharField()
    id = serializers.IntegerField(required=False, help_text=_("Missing when the record was refused."))
    detail = serializers.CharField(required=False, help_text=_("Only for a refusal."))
    code = serializers.CharField(required=False, help_text=_("Only for a refusal."))
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text=_("Only for a refusal."),
    )

    def to_representation(self, instance: InboundResult) -> dict:
        body = super().to_representation(instance)
        if instance.id is None:
            del body["id"]
        if instance.ok:
            for name in ("detail", "code", "errors"):
                del body[name]
        return body


class BulkAnswerSerializer(serializers.Serializer):
    """The answer to a bulk request: how many records were applied and refused, and each one's."""

    applied = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = InboundResultSerializer(many=True)


def bulk_answer(results: list[InboundResult]) -> dict:
    refused = sum(not r.ok for r in results)
    return BulkAnswerSerializer(
        {"applied": len(results) - refused, "refused": refused, "results": results}
    ).data
