"""The fake ERP's two message formats, read into one shape: `POST /messages` JSON and `POST /b2mml`
B2MML XML (see `integration.fake_erp`). A body it can't read is `Refused` with a 400 and a reason."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from lxml import etree

NS = "{http://www.mesa.org/xml/B2MML}"
STATE_OF_RESPONSE = {
    "Waiting": "draft",
    "Ready": "released",
    "Running": "in_progress",
    "Held": "on_hold",
    "Completed": "completed",
    "Closed": "closed",
    "Aborted": "cancelled",
}


class Refused(Exception):
    def __init__(self, status: int, code: str, reason: str):
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


def _decimal(value) -> Decimal | None:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return d if d.is_finite() else None


def _seconds(value) -> int | None:
    d = _decimal(value)
    return int(d) if d is not None and d == d.to_integral_value() else None


def _json_labor(p: dict) -> tuple[list, list]:
    lines, machine = p.get("lines") or [], p.get("operations") or []
    if not isinstance(lines, list) or not isinstance(machine, list):
        raise Refused(400, "unparsable", "Labor lines and operations are lists.")
    labor = []
    for line in lines:
        if not isinstance(line, dict):
            raise Refused(400, "unparsable", "A labor line is an object.")
        operation = line.get("operation") if isinstance(line.get("operation"), dict) else {}
        labor.append(
            (
                operation.get("sequence"),
                str(line.get("personnel_number") or ""),
                _seconds(line.get("seconds")),
            )
        )
    seconds = [_seconds(op.get("machine_seconds")) or 0 for op in machine if isinstance(op, dict)]
    return labor, seconds


def parse_json(body: bytes, key: str) -> dict:
    try:
        p = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Refused(400, "unparsable", f"The body is not JSON: {exc}") from None
    if not isinstance(p, dict):
        raise Refused(400, "unparsable", "The body is not a JSON object.")
    operation = p.get("operation") or {}
    status = p.get("status") or {}
    try:
        sequence = int(p.get("sequence") or 0)
    except (TypeError, ValueError):
        raise Refused(400, "bad_sequence", "The sequence is not a whole number.") from None
    labor, machine = _json_labor(p) if p.get("message_type") == "labor" else ([], [])
    return {
        "key": key or str(p.get("idempotency_key") or ""),
        "type": str(p.get("message_type") or ""),
        "order": str(p.get("order_number") or ""),
        "material": str(p.get("material") or ""),
        "quantity": _decimal(p.get("quantity")),
        "operation": operation.get("sequence"),
        "last": bool(operation.get("last")),
        "sequence": sequence,
        "status": status.get("to") or "",
        "labor": labor,
        "machine": machine,
    }


def _b2mml_labor(root) -> list:
    """(operation, personnel number, seconds) of each PersonnelActual (hours, as B2MML quantities)."""
    labor = []
    for segment in root.iter(f"{NS}SegmentResponse"):
        found = segment.find(f"{NS}ProcessSegmentID")
        operation = int(found.text) if found is not None and (found.text or "").isdigit() else None
        for actual in segment.findall(f"{NS}PersonnelActual"):
            person = actual.find(f"{NS}PersonID")
            hours = _decimal(actual.findtext(f"{NS}Quantity/{NS}QuantityString"))
            seconds = int((hours * 3600).to_integral_value()) if hours is not None else None
            labor.append((operation, (person.text or "").strip() if person is not None else "", seconds))
    return labor


def parse_b2mml(body: bytes, key: str) -> dict:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise Refused(400, "unparsable", f"The body is not XML: {exc}") from None
    if root.tag != f"{NS}ProcessOperationsPerformance":
        raise Refused(400, "unexpected_document", f"Expected ProcessOperationsPerformance, got {root.tag}.")

    def text(path: str) -> str:
        found = root.find(path.replace("b:", NS))
        return (found.text or "").strip() if found is not None else ""

    seg = ".//b:SegmentResponse"
    use = root.find(f".//{NS}MaterialActual/{NS}MaterialUse")
    labor = _b2mml_labor(root)
    if labor:
        kind = "labor"
    elif use is None:
        kind = "order_status"
    elif use.text == "Produced":
        kind = "completion"
    elif use.text == "Consumed":
        kind = "consumption"
    elif use.text == "Other" and use.get("OtherValue") == "Scrap":
        kind = "scrap"
    else:
        kind = f"material_use:{use.text}"
    performance_id = text(".//b:OperationsPerformance/b:ID")
    try:
        sequence = int(performance_id.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        sequence = 0
    operation = text(f"{seg}/b:ProcessSegmentID")
    return {
        "key": key or text(".//b:ApplicationArea/b:BODID"),
        "type": kind,
        "order": text(".//b:OperationsResponse/b:OperationsRequestID"),
        "material": text(f"{seg}/b:MaterialActual/b:MaterialDefinitionID"),
        "quantity": _decimal(text(f"{seg}/b:MaterialActual/b:Quantity/b:QuantityString")),
        "operation": int(operation) if operation.isdigit() else None,
        "last": text(f"{seg}/b:MaterialActual/b:MaterialActualProperty/b:Value/b:ValueString") == "true",
        "sequence": sequence,
        "status": STATE_OF_RESPONSE.get(text(".//b:OperationsResponse/b:ResponseState"), ""),
        "labor": labor,
        "machine": [],
    }
