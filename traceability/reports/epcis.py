"""EPCIS 2.0 JSON-LD export of a trace: an EPCISDocument with

- an ObjectEvent (action ADD, bizStep commissioning) for every lot or serial made by an order,
- a TransformationEvent (bizStep assembling) for every lot or serial made from others: the
  consumed lots and serials are its inputs, the made one its output,
- an ObjectEvent (action OBSERVE, bizStep shipping, disposition in_transit) for every shipment
  of a lot or serial in the trace: the quantity shipped, the customer's order or our delivery
  note as its business transaction (`desadv`) and the customer as its destination (owning party),
  both as private URNs of this installation (`urn:mes:<site>:desadv:<reference>`,
  `urn:mes:customer:<customer>`): the plant keeps no GS1 party or document identifiers for them.

Identifiers (EPC URIs) come from the product's GTIN and the company prefix in the setting
`GS1_COMPANY_PREFIX`:

- a serial: `urn:epc:id:sgtin:<company prefix>.<indicator + item reference>.<serial>`
- a lot (as a class, with a quantity): `urn:epc:class:lgtin:<company prefix>.<indicator + item
  reference>.<lot>`

A GTIN that does not start with our company prefix (a purchased part) cannot be split into
prefix and item reference without GS1's prefix-length table, so it is written as a GS1 Digital
Link URI, which EPCIS 2.0 accepts for the same identifiers: `https://id.gs1.org/01/<GTIN-14>/21/
<serial>` or `.../10/<lot>`. A product without a GTIN gets a private URN of this installation,
`urn:mes:<site>:<part number>:serial:<code>` or `...:lot:<code>`; `strict=True` refuses such a
trace instead, naming the product.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC
from decimal import Decimal
from urllib.parse import quote

from django.conf import settings
from django.utils.translation import gettext

from mes.errors import ValidationFailed
from traceability.models import Shipment
from traceability.reports.base import Built, Progress, no_progress
from traceability.reports.trace import TraceDocument
from traceability.selectors import TraceNode

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# The units of measure of UN/ECE Recommendation 20 that EPCIS quantities use.
UOM = {"kg": "KGM", "g": "GRM", "t": "TNE", "m": "MTR", "mm": "MMT", "l": "LTR", "ml": "MLT", "m2": "MTK"}
# Characters an EPC URI keeps as they are (GS1 Tag Data Standard, table A-1); others are escaped.
_EPC_SAFE = "!'()*+,-.:;=_"


def company_prefix() -> str:
    prefix = str(getattr(settings, "GS1_COMPANY_PREFIX", "") or "")
    if not (prefix.isascii() and prefix.isdigit()) or not 6 <= len(prefix) <= 12:
        raise ValidationFailed(
            gettext("GS1_COMPANY_PREFIX must be 6 to 12 digits."),
            field="GS1_COMPANY_PREFIX",
            code="bad_prefix",
        )
    return prefix


def _escape(value: str) -> str:
    return quote(value, safe=_EPC_SAFE)


def _split(gtin: str, prefix: str) -> tuple[str, str] | None:
    """(company prefix, indicator + item reference) of a GTIN under our prefix, else None."""
    g14 = gtin.zfill(14)
    body = g14[1:13]
    if not body.startswith(prefix):
        return None
    return prefix, g14[0] + body[len(prefix) :]


def epc_uri(node: TraceNode, *, strict: bool = False) -> str:
    """The EPC of a serial (instance) or the EPC class of a lot."""
    serial = node.kind == "serial"
    if node.gtin:
        parts = _split(node.gtin, company_prefix())
        if parts:
            kind = "id:sgtin" if serial else "class:lgtin"
            return f"urn:epc:{kind}:{parts[0]}.{parts[1]}.{_escape(node.code)}"
        return f"https://id.gs1.org/01/{node.gtin.zfill(14)}/{'21' if serial else '10'}/{quote(node.code, safe='')}"
    if strict:
        raise ValidationFailed(
            gettext("Product %(part_number)s has no GTIN, so %(code)s has no EPC.")
            % {"part_number": node.part_number, "code": node.code},
            field="gtin",
            code="no_gtin",
        )
    return (
        f"urn:mes:{_escape(node.site_code)}:{_escape(node.part_number)}:"
        f"{'serial' if serial else 'lot'}:{_escape(node.code)}"
    )


def _quantity(node: TraceNode, quantity: Decimal, strict: bool) -> dict:
    element = {"epcClass": epc_uri(node, strict=strict), "quantity": float(quantity)}
    uom = UOM.get(node.unit.strip().lower())
    if uom:
        element["uom"] = uom
    return element


def _time(node: TraceNode) -> str:
    when = node.produced_at
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _with_id(event: dict) -> dict:
    # A stable event id from the event's own content (the hashing scheme EPCIS 2.0 §8.9 suggests).
    digest = hashlib.sha256(json.dumps(event, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return {"eventID": f"ni:///sha-256;{digest}?ver=CBV2.0", **event}


def epcis_document(doc: TraceDocument, *, strict: bool = False) -> dict:
    trace = doc.trace
    nodes = {i: n for i, n in trace.nodes.items() if n.visible}
    events: list[dict] = []
    for node in nodes.values():
        if node.work_order_id is None:
            continue  # received from a supplier: commissioned elsewhere
        event = {
            "type": "ObjectEvent",
            "eventTime": _time(node),
            "eventTimeZoneOffset": "+00:00",
            "action": "ADD",
        }
        if node.kind == "serial":
            event["epcList"] = [epc_uri(node, strict=strict)]
        else:
            event["quantityList"] = [_quantity(node, node.quantity, strict)]
        event.update({"bizStep": "commissioning", "disposition": "active"})
        events.append(_with_id(event))
    inputs: dict[int, list[tuple[TraceNode, Decimal]]] = {}
    for edge in trace.edges:
        if edge.parent_id in nodes and edge.child_id in nodes:
            inputs.setdefault(edge.child_id, []).append((nodes[edge.parent_id], edge.quantity))
    for child_id, parents in inputs.items():
        child = nodes[child_id]
        event = {"type": "TransformationEvent", "eventTime": _time(child), "eventTimeZoneOffset": "+00:00"}
        epcs = sorted({epc_uri(p, strict=strict) for p, _ in parents if p.kind == "serial"})
        totals: dict[int, tuple[TraceNode, Decimal]] = {}
        for parent, quantity in parents:
            if parent.kind != "serial":
                node, total = totals.get(parent.id, (parent, Decimal(0)))
                totals[parent.id] = (node, total + quantity)
        if epcs:
            event["inputEPCList"] = epcs
        if totals:
            event["inputQuantityList"] = [_quantity(n, q, strict) for n, q in totals.values()]
        if child.kind == "serial":
            event["outputEPCList"] = [epc_uri(child, strict=strict)]
        else:
            event["outputQuantityList"] = [_quantity(child, child.quantity, strict)]
        event["bizStep"] = "assembling"
        events.append(_with_id(event))
    events += _shipping_events(nodes, strict)
    events.sort(key=lambda e: (e["eventTime"], e["type"], e["eventID"]))
    return {
        "@context": [CONTEXT],
        "id": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'mes-trace:' + doc.content_hash)}",
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": doc.generated_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "epcisBody": {"eventList": events},
    }


def _shipping_events(nodes: dict[int, TraceNode], strict: bool) -> list[dict]:
    """An ObjectEvent for each shipment of the trace's lots and serials (one query)."""
    events = []
    shipments = Shipment.objects.filter(lot_id__in=list(nodes)).order_by("shipped_at", "pk")
    for lot_id, shipped_at, quantity, customer, reference in shipments.values_list(
        "lot_id", "shipped_at", "quantity", "customer", "reference"
    ):
        node = nodes[lot_id]
        event = {
            "type": "ObjectEvent",
            "eventTime": shipped_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE",
        }
        if node.kind == "serial":
            event["epcList"] = [epc_uri(node, strict=strict)]
        else:
            event["quantityList"] = [_quantity(node, quantity, strict)]
        event.update(
            {
                "bizStep": "shipping",
                "disposition": "in_transit",
                "bizTransactionList": [
                    {
                        "type": "desadv",
                        "bizTransaction": f"urn:mes:{_escape(node.site_code)}:desadv:{_escape(reference)}",
                    }
                ],
                "destinationList": [
                    {"type": "owning_party", "destination": f"urn:mes:customer:{_escape(customer)}"}
                ],
            }
        )
        events.append(_with_id(event))
    return events


def build_epcis(doc: TraceDocument, progress: Progress = no_progress, *, strict: bool = False) -> Built:
    document = epcis_document(doc, strict=strict)
    progress(100)
    return Built(
        content=json.dumps(document, indent=1, ensure_ascii=False).encode(),
        filename=f"{doc.stem}.epcis.jsonld",
        content_type="application/ld+json",
        content_hash=doc.content_hash,
    )
