"""B2MML XML per ISA-95: each message as a `ProcessOperationsPerformance`, POSTed to `<ERP_URL>/b2mml`.

Mapping (B2MML V0701, namespace http://www.mesa.org/xml/B2MML):
- `ApplicationArea/BODID` carries the message's idempotency key;
- one `OperationsPerformance` (`OperationsType` Production, `HierarchyScope` = the plant as a Site),
  one `OperationsResponse` per work order (`OperationsRequestID` = the ERP order number), one
  `SegmentResponse` per operation (`ProcessSegmentID` = operation sequence);
- a completion is a `MaterialActual` with `MaterialUse` Produced; consumption is Consumed (with the
  consumed lot's material and `MaterialLotID`); scrap is
  `MaterialUse` Other with `OtherValue="Scrap"` and the reason in `Description`;
- an order status change is the response's `ResponseState`;
- a labor confirmation is one `SegmentResponse` per operation it closes, each with one
  `PersonnelActual` per person and shift (`PersonID` = the badge, our personnel number,
  `PersonnelUse` Used, `Quantity` in hours, `Description` the shift) and the time nobody
  attended as an `EquipmentActual` of the work cell, in hours.

The B2MML schemas are used courtesy of MESA International.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from integration.connectors.base import Connector

NS = "http://www.mesa.org/xml/B2MML"
RELEASE_ID = "V0701"
RESPONSE_STATE = {
    "draft": "Waiting",
    "released": "Ready",
    "in_progress": "Running",
    "on_hold": "Held",
    "completed": "Completed",
    "closed": "Closed",
    "cancelled": "Aborted",
}
MATERIAL_USE = {
    "completion": ("Produced", None),
    "consumption": ("Consumed", None),
    "scrap": ("Other", "Scrap"),
}


class XmlRefused(ValueError):
    """An XML document the MES won't read; the message says why."""


def parse_xml(body: bytes):
    """The root element of an XML document from the ERP, read safely: no network, no entity
    expansion, lxml's limits on depth and size, and no DOCTYPE at all.

    Not expanding entities is not enough: an entity declared in a DOCTYPE then reaches the
    reader as an entity node where an element or text was expected. No ERP message of ours
    needs a DOCTYPE (B2MML is defined by XML Schema), so any document with one is refused.
    """
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise XmlRefused(f"XML parse error - {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.system_url or docinfo.public_id:
        raise XmlRefused("XML with a DOCTYPE is refused: ERP messages declare no DTD and no entities.")
    return root


def _el(parent, tag: str, text: str | None = None, **attrs):
    element = etree.SubElement(parent, f"{{{NS}}}{tag}", **attrs)
    if text is not None:
        element.text = text
    return element


def _scope(parent, plant: str, workstation: str = "") -> None:
    scope = _el(parent, "HierarchyScope")
    _el(scope, "EquipmentID", plant)
    _el(scope, "EquipmentLevel", "Site")
    if workstation:
        child = _el(scope, "HierarchyScopeChild")
        _el(child, "EquipmentID", workstation)
        _el(child, "EquipmentLevel", "WorkCell")


def render_b2mml(message, *, created: datetime | None = None) -> bytes:
    p = message.payload
    # The message's own creation time, so every attempt sends the same bytes.
    created = created or getattr(message, "created_at", None) or datetime.now(UTC)
    root = etree.Element(f"{{{NS}}}ProcessOperationsPerformance", nsmap={None: NS}, releaseID=RELEASE_ID)
    area = _el(root, "ApplicationArea")
    sender = _el(area, "Sender")
    _el(sender, "LogicalID", "MES")
    _el(sender, "ReferenceID", str(p["event_id"]))
    _el(area, "CreationDateTime", created.isoformat())
    _el(area, "BODID", p["idempotency_key"])
    data = _el(root, "DataArea")
    _el(data, "Process")
    performance = _el(data, "OperationsPerformance")
    _el(performance, "ID", f"{p['order_number']}-{p['sequence']}")
    _scope(performance, p["plant"])
    _el(performance, "OperationsType", "Production")
    response = _el(performance, "OperationsResponse")
    _el(response, "ID", p["order_number"])
    _el(response, "OperationsType", "Production")
    _el(response, "OperationsRequestID", p["order_number"])
    status = p.get("status")
    if status:
        _el(response, "ResponseState", RESPONSE_STATE.get(status["to"], "Other"))
    if p["message_type"] == "labor":
        _labor_segments(response, p)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    segment = _el(response, "SegmentResponse")
    operation = p.get("operation")
    _el(segment, "ID", f"{p['order_number']}-{operation['sequence'] if operation else 0}-{p['sequence']}")
    if operation:
        _el(segment, "Description", operation["name"])
    _el(segment, "ActualEndTime", p["occurred_at"])
    if operation and operation.get("workstation"):
        _scope(segment, p["plant"], operation["workstation"])
    _el(segment, "OperationsType", "Production")
    if operation:
        _el(segment, "ProcessSegmentID", str(operation["sequence"]))
    _el(segment, "OperationsRequestID", p["order_number"])
    if status:
        _el(segment, "SegmentState", RESPONSE_STATE.get(status["to"], "Other"))
    if p["message_type"] in MATERIAL_USE:
        use, other = MATERIAL_USE[p["message_type"]]
        actual = _el(segment, "MaterialActual")
        _el(actual, "ID", p["idempotency_key"])
        _el(actual, "MaterialDefinitionID", p["material"])
        if p.get("lot"):
            _el(actual, "MaterialLotID", p["lot"])
        if p.get("reason"):
            _el(actual, "Description", f"{p['reason']['code']}: {p['reason']['name']}")
        _el(actual, "MaterialUse", use, **({"OtherValue": other} if other else {}))
        quantity = _el(actual, "Quantity")
        _el(quantity, "QuantityString", p["quantity"])
        _el(quantity, "UnitOfMeasure", p["unit"])
        if operation is not None and p["message_type"] == "completion":
            prop = _el(actual, "MaterialActualProperty")
            _el(prop, "ID", "LastOperation")
            _el(_el(prop, "Value"), "ValueString", "true" if operation.get("last") else "false")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _labor_segments(response, p: dict) -> None:
    """One SegmentResponse per operation of a labor confirmation, with its people's time."""
    for operation in p["operations"]:
        segment = _el(response, "SegmentResponse")
        _el(segment, "ID", f"{p['order_number']}-{operation['sequence']}-{p['sequence']}")
        _el(segment, "Description", operation["name"])
        _el(segment, "ActualEndTime", p["occurred_at"])
        _scope(segment, p["plant"], operation["workstation"])
        _el(segment, "OperationsType", "Production")
        _el(segment, "ProcessSegmentID", str(operation["sequence"]))
        _el(segment, "OperationsRequestID", p["order_number"])
        _el(segment, "SegmentState", "Completed")
        lines = [line for line in p["lines"] if line["operation"]["sequence"] == operation["sequence"]]
        for n, line in enumerate(lines, start=1):
            actual = _el(segment, "PersonnelActual")
            _el(actual, "ID", f"{p['idempotency_key']}-{operation['sequence']}-{n}")
            _el(actual, "PersonID", line["personnel_number"])
            _el(
                actual,
                "Description",
                f"{line['person']}; shift {line['shift'] or 'none'} {line['shift_start'] or ''}".strip(),
            )
            _el(actual, "PersonnelUse", "Used")
            quantity = _el(actual, "Quantity")
            _el(quantity, "QuantityString", line["hours"])
            _el(quantity, "UnitOfMeasure", "h")
        if operation.get("machine_seconds"):
            equipment = _el(segment, "EquipmentActual")
            _el(equipment, "ID", f"{p['idempotency_key']}-{operation['sequence']}-machine")
            _el(equipment, "EquipmentID", operation["workstation"])
            _el(equipment, "Description", "Running time nobody attended")
            quantity = _el(equipment, "Quantity")
            _el(quantity, "QuantityString", f"{operation['machine_seconds'] / 3600:.4f}")
            _el(quantity, "UnitOfMeasure", "h")


class B2mmlConnector(Connector):
    name = "b2mml"
    path = "/b2mml"
    content_type = "application/xml"

    def render(self, message) -> bytes:
        return render_b2mml(message)
