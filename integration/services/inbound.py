"""What the ERP pushes down: products, BOMs, routings and work orders, upserted by their ERP keys.

Guarantees:
- each record is applied in one transaction through the production services, so it leaves
  history with the ERP's API user as author, and a refused record leaves nothing behind;
- a PUT of what is already there changes nothing and says `unchanged` (idempotent);
- every record is logged (`InboundRecord`): refused ones with their body, field and reason;
- an order already in progress can't get a quantity below what is completed, a cancelled order
  can't be reopened, and a closed one can't be changed.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.dateparse import parse_datetime

from integration import units
from integration.models import InboundRecord
from integration.states import InboundKind, InboundOutcome
from mes.errors import Conflict, IllegalTransition, MesError, ValidationFailed
from mes.idempotency import fingerprint
from mes.models import Line, User, Workstation
from workorders import services as production
from workorders.models import BomLine, Product, Routing, WorkOrder
from workorders.states import Tracking, WorkOrderStatus, can_transition

S = WorkOrderStatus
ERP_NAMESPACE = uuid.UUID("6f1c7f0e-3d4b-4c8e-9a53-0c2f0d6e4e11")
REASON = "ERP update"


@dataclass
class InboundResult:
    kind: str
    key: str
    outcome: str
    id: int | None = None
    detail: str = ""
    code: str = ""
    errors: dict = field(default_factory=dict)
    refusal_status: int = 400

    @property
    def ok(self) -> bool:
        return self.outcome != InboundOutcome.REFUSED

    @property
    def http_status(self) -> int:
        if not self.ok:
            return self.refusal_status
        return 201 if self.outcome == InboundOutcome.CREATED else 200

    def as_dict(self) -> dict:
        body = {"type": self.kind, "key": self.key, "outcome": self.outcome}
        if self.id is not None:
            body["id"] = self.id
        if not self.ok:
            body.update({"detail": self.detail, "code": self.code, "errors": self.errors})
        return body


# --- field readers: refuse with the field and the reason ------------------------------------------


def _required(data: dict, name: str, prefix: str = ""):
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationFailed(f"{prefix}{name} is required.", field=f"{prefix}{name}", code="required")
    return value.strip() if isinstance(value, str) else value


def _text(value, name: str) -> str:
    """A text field's value: text, or a number the ERP sent without quotes; a list, an object or
    true/false is refused (it reached `.strip()` as a 500 before)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    raise ValidationFailed(f"{name} must be text.", field=name, code="not_text")


def _required_text(data: dict, name: str, prefix: str = "") -> str:
    return _text(_required(data, name, prefix), f"{prefix}{name}")


def _optional_text(data: dict, name: str, prefix: str = "") -> str:
    value = data.get(name)
    return "" if value is None else _text(value, f"{prefix}{name}")


def _decimal(value, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(
            f"{name} must be a number, not {value!r}.", field=name, code="not_a_number"
        ) from None
    if not number.is_finite():
        raise ValidationFailed(f"{name} must be a number, not {value!r}.", field=name, code="not_a_number")
    return number


def _product(part_number: str, name: str = "material") -> Product:
    product = Product.objects.filter(part_number=part_number).first()
    if product is None:
        raise ValidationFailed(
            f"Unknown product {part_number}: send the product first.", field=name, code="unknown_product"
        )
    return product


def _changed(instance, values: dict) -> bool:
    return any(getattr(instance, k) != v for k, v in values.items())


# --- products -----------------------------------------------------------------------------------


def _apply_product(key: str, data: dict, user: User) -> tuple[str, int]:
    values = {"name": _required_text(data, "name"), "unit": units.normalise(_required_text(data, "unit"))}
    if not units.known(values["unit"]):
        raise ValidationFailed(
            f"Unit '{data['unit']}' is not a unit the MES knows.", field="unit", code="unknown_unit"
        )
    if "tracking" in data:
        if data["tracking"] not in Tracking.values:
            raise ValidationFailed(
                f"tracking must be one of {', '.join(Tracking.values)}.",
                field="tracking",
                code="invalid_choice",
            )
        values["tracking"] = data["tracking"]
    if "active" in data:
        values["active"] = bool(data["active"])
    product = Product.objects.select_for_update().filter(part_number=key).first()
    if product is None:
        product = production.master_data_save(
            instance=Product(part_number=key, **values), user=user, reason=REASON
        )
        return InboundOutcome.CREATED, product.pk
    if not _changed(product, values):
        return InboundOutcome.UNCHANGED, product.pk
    if product.unit != values["unit"] and product.work_orders.exists():
        raise Conflict(
            f"{key} has work orders counted in {product.unit}; its unit can't change to {values['unit']}.",
            field="unit",
            code="unit_in_use",
        )
    for name, value in values.items():
        setattr(product, name, value)
    production.master_data_save(instance=product, user=user, reason=REASON)
    return InboundOutcome.UPDATED, product.pk


# --- BOMs ---------------------------------------------------------------------------------------


def _apply_bom(key: str, data: dict, user: User) -> tuple[str, int]:
    product = _product(key, "key")
    lines = _required(data, "lines")
    if not isinstance(lines, list):
        raise ValidationFailed("lines must be a list.", field="lines", code="not_a_list")
    wanted: dict[int, Decimal] = {}
    for i, line in enumerate(lines):
        prefix = f"lines[{i}]."
        if not isinstance(line, dict):
            raise ValidationFailed(
                f"lines[{i}] must be an object.", field=f"lines[{i}]", code="not_an_object"
            )
        component = _product(_required_text(line, "component", prefix), f"{prefix}component")
        quantity = _decimal(_required(line, "quantity", prefix), f"{prefix}quantity")
        if quantity <= 0:
            raise ValidationFailed(
                "The quantity must be more than zero.", field=f"{prefix}quantity", code="not_positive"
            )
        quantity = units.convert(
            quantity,
            _optional_text(line, "unit", prefix) or component.unit,
            component.unit,
            field=f"{prefix}unit",
        )
        if component.pk in wanted:
            raise Conflict(
                f"{component.part_number} appears twice.", field=f"{prefix}component", code="duplicate_line"
            )
        production.bom_check_acyclic(product=product, component=component, field=f"{prefix}component")
        wanted[component.pk] = quantity
    existing = {b.component_id: b for b in BomLine.objects.select_for_update().filter(product=product)}
    changed = False
    for component_id, line in existing.items():
        if component_id not in wanted:
            production.master_data_delete(instance=line, user=user, reason=REASON)
            changed = True
    for component_id, quantity in wanted.items():
        line = existing.get(component_id)
        if line is None:
            line = BomLine(product=product, component_id=component_id, quantity=quantity)
        elif line.quantity == quantity:
            continue
        line.quantity = quantity
        production.master_data_save(instance=line, user=user, reason=REASON)
        changed = True
    if not existing and wanted:
        return InboundOutcome.CREATED, product.pk
    return (InboundOutcome.UPDATED if changed else InboundOutcome.UNCHANGED), product.pk


# --- routings -----------------------------------------------------------------------------------


def _workstation(code: str, name: str) -> Workstation:
    """A workstation by "LINE/STATION" or by a station code that is unique."""
    if "/" in code:
        line, station = code.split("/", 1)
        found = list(Workstation.objects.filter(line__code=line, code=station)[:2])
    else:
        found = list(Workstation.objects.filter(code=code)[:2])
    if len(found) != 1:
        reason = "is not known" if not found else "is ambiguous; name it LINE/STATION"
        raise ValidationFailed(f"Workstation {code} {reason}.", field=name, code="unknown_workstation")
    return found[0]


def _apply_routing(key: str, data: dict, user: User) -> tuple[str, int]:
    if "/" not in key:
        raise ValidationFailed("A routing's key is PRODUCT/CODE.", field="key", code="invalid_key")
    part_number, code = key.split("/", 1)
    product = _product(part_number, "key")
    operations_in = _required(data, "operations")
    if not isinstance(operations_in, list):
        raise ValidationFailed("operations must be a list.", field="operations", code="not_a_list")
    operations = []
    for i, op in enumerate(operations_in):
        prefix = f"operations[{i}]."
        if not isinstance(op, dict):
            raise ValidationFailed(
                f"operations[{i}] must be an object.", field=f"operations[{i}]", code="not_an_object"
            )
        try:
            sequence = int(_required(op, "sequence", prefix))
            setup = int(op.get("setup_seconds") or 0)
        except (TypeError, ValueError):
            raise ValidationFailed(
                "sequence and setup_seconds are whole numbers.",
                field=f"{prefix}sequence",
                code="not_a_number",
            ) from None
        operations.append(
            {
                "sequence": sequence,
                "name": _required_text(op, "name", prefix),
                "workstation": _workstation(
                    _required_text(op, "workstation", prefix), f"{prefix}workstation"
                ),
                "setup_seconds": setup,
                "ideal_cycle_seconds": _decimal(
                    _required(op, "ideal_cycle_seconds", prefix), f"{prefix}ideal_cycle_seconds"
                ),
            }
        )
    values = {"name": _required_text(data, "name"), "allow_overlap": bool(data.get("allow_overlap", False))}
    if "active" in data:
        values["active"] = bool(data["active"])
    routing = Routing.objects.select_for_update().filter(product=product, code=code).first()
    if routing is not None:
        current = [
            {
                "sequence": o.sequence,
                "name": o.name,
                "workstation": o.workstation,
                "setup_seconds": o.setup_seconds,
                "ideal_cycle_seconds": o.ideal_cycle_seconds,
            }
            for o in routing.operations.select_related("workstation").order_by("sequence")
        ]
        if not _changed(routing, values) and current == sorted(operations, key=lambda o: o["sequence"]):
            return InboundOutcome.UNCHANGED, routing.pk
        outcome = InboundOutcome.UPDATED
        for name, value in values.items():
            setattr(routing, name, value)
    else:
        routing = Routing(product=product, code=code, **values)
        outcome = InboundOutcome.CREATED
    production.routing_save(routing=routing, operations=operations, user=user, reason=REASON)
    return outcome, routing.pk


# --- work orders --------------------------------------------------------------------------------


def _transition_key(number: str, target: str, version: int) -> uuid.UUID:
    # Stable per order, target and version: a repeated PUT can't move an order twice.
    return uuid.uuid5(ERP_NAMESPACE, f"work_order:{number}:{target}:{version}")


def _due(value) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = parse_datetime(str(value))
    if parsed is None or parsed.tzinfo is None:
        raise ValidationFailed(
            "due must be an ISO 8601 time with its time zone.", field="due", code="invalid_time"
        )
    return parsed


def _apply_work_order(key: str, data: dict, user: User) -> tuple[str, int]:
    product = _product(_required_text(data, "material"))
    quantity = _decimal(_required(data, "quantity"), "quantity")
    quantity = units.convert(quantity, _optional_text(data, "unit") or product.unit, product.unit)
    due = _due(data.get("due"))
    target = _optional_text(data, "status") or None
    routing_code, line_code = _optional_text(data, "routing"), _optional_text(data, "line")
    if target is not None and target not in (S.DRAFT, S.RELEASED, S.CANCELLED, S.CLOSED):
        raise ValidationFailed(
            "status may be draft, released, cancelled or closed.", field="status", code="invalid_status"
        )
    order = WorkOrder.objects.select_for_update().filter(number=key).first()
    if order is None:
        if target in (S.CANCELLED, S.CLOSED):
            raise ValidationFailed(
                f"A new order can't start {target}.", field="status", code="invalid_status"
            )
        if routing_code:
            routing = Routing.objects.filter(product=product, code=routing_code, active=True).first()
        else:
            routing = Routing.objects.filter(product=product, active=True).order_by("code").first()
        if routing is None:
            raise ValidationFailed(
                f"{product.part_number} has no active routing {routing_code}".strip() + ".",
                field="routing",
                code="unknown_routing",
            )
        if line_code:
            line = Line.objects.filter(code=line_code).first()
            if line is None:
                raise ValidationFailed(f"Line {line_code} is not known.", field="line", code="unknown_line")
        else:
            first = routing.operations.select_related("workstation__line").order_by("sequence").first()
            line = first.workstation.line if first else None
        order = production.workorder_create(
            number=key,
            product=product,
            routing=routing,
            line=line,
            quantity=quantity,
            user=user,
            due=due,
            priority=data.get("priority"),
        )
        if target == S.RELEASED:
            production.workorder_transition(
                work_order_id=order.pk,
                target=S.RELEASED,
                user=user,
                key=_transition_key(key, S.RELEASED, order.version),
                reason=REASON,
            )
        return InboundOutcome.CREATED, order.pk

    if order.product_id != product.pk:
        raise Conflict(
            f"Order {key} makes {order.product.part_number}; the ERP can't change it to {product.part_number}.",
            field="material",
            code="product_change",
        )
    if order.status == S.CANCELLED and target != S.CANCELLED:
        raise IllegalTransition(
            f"Order {key} is cancelled; a cancelled order can't be reopened.",
            field="status",
            code="cancelled",
        )
    changes = {}
    if quantity != order.quantity:
        changes["quantity"] = quantity
    if due is not None and due != order.due:
        changes["due"] = due
    moving = (
        target is not None
        and target != order.status
        and not (target == S.RELEASED and order.status in (S.IN_PROGRESS, S.ON_HOLD, S.COMPLETED))
    )
    if not changes and not moving:
        return InboundOutcome.UNCHANGED, order.pk
    if order.status in (S.CLOSED, S.CANCELLED) and changes:
        raise Conflict(
            f"Order {key} is {order.status}; it can't be changed.", field="status", code="order_final"
        )
    if changes:
        order = production.workorder_update(
            work_order_id=order.pk, version=order.version, user=user, reason=REASON, **changes
        )
    if moving:
        if not can_transition(order.status, target):
            raise IllegalTransition(
                f"Order {key} is {order.get_status_display().lower()}: the ERP can't make it {target}.",
                field="status",
            )
        production.workorder_transition(
            work_order_id=order.pk,
            target=target,
            user=user,
            key=_transition_key(key, target, order.version),
            reason=_optional_text(data, "reason") or f"{REASON}: {target}",
        )
    return InboundOutcome.UPDATED, order.pk


APPLIERS = {
    InboundKind.PRODUCT: _apply_product,
    InboundKind.BOM: _apply_bom,
    InboundKind.ROUTING: _apply_routing,
    InboundKind.WORK_ORDER: _apply_work_order,
}


def _storable(value: str) -> str:
    """Text the console can keep: PostgreSQL refuses NUL in a text column, so a NUL the ERP sent
    is kept visibly escaped rather than losing the whole record."""
    return value.replace("\x00", "\\u0000")


def _body(data) -> str:
    return json.dumps(data, sort_keys=True, default=str)[:20000]


def _log(result: InboundResult, data, user: User) -> None:
    InboundRecord.objects.create(
        kind=result.kind if result.kind in InboundKind.values else InboundKind.UNKNOWN,
        erp_key=_storable(result.key)[:200],
        outcome=result.outcome,
        body=_body(data) if not result.ok else "",
        fingerprint=fingerprint(data) if isinstance(data, dict) else "",
        field=_storable(next(iter(result.errors), ""))[:64],
        reason=_storable(result.detail),
        code=result.code[:64],
        user=user,
    )


def inbound_apply(*, kind: str, key: str, data, user: User) -> InboundResult:
    """Apply one ERP record in its own transaction; a refusal leaves nothing but its log entry."""
    key = (key or "").strip()
    try:
        if kind not in APPLIERS:
            raise ValidationFailed(
                f"type must be one of {', '.join(APPLIERS)}.", field="type", code="unknown_type"
            )
        if not key:
            raise ValidationFailed("key is required.", field="key", code="required")
        if not isinstance(data, dict):
            raise ValidationFailed("The record must be a JSON object.", field="data", code="not_an_object")
        with transaction.atomic():
            outcome, pk = APPLIERS[kind](key, data, user)
            result = InboundResult(kind, key, outcome, id=pk)
            _log(result, data, user)
        return result
    except MesError as exc:
        result = InboundResult(
            kind,
            key,
            InboundOutcome.REFUSED,
            detail=exc.message,
            code=exc.code,
            errors={exc.field or "non_field_errors": [exc.message]},
            refusal_status=exc.status_code,
        )
        _log(result, data, user)
        return result


def inbound_bulk(*, records, user: User) -> list[InboundResult]:
    """Apply many records, each on its own; the same key twice with different bodies refuses both."""
    if not isinstance(records, list):
        raise ValidationFailed("records must be a list.", field="records", code="not_a_list")
    seen: dict[tuple, set[str]] = {}
    for record in records:
        if isinstance(record, dict):
            ident = (record.get("type"), str(record.get("key") or ""))
            seen.setdefault(ident, set()).add(fingerprint({"d": record.get("data")}))
    results = []
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            result = InboundResult(
                "unknown",
                f"records[{i}]",
                InboundOutcome.REFUSED,
                detail="A record must be an object.",
                code="not_an_object",
                errors={f"records[{i}]": ["A record must be an object."]},
            )
            _log(result, record, user)
            results.append(result)
            continue
        kind, key = record.get("type"), str(record.get("key") or "")
        if len(seen.get((kind, key), ())) > 1:
            reason = f"{kind} {key} appears more than once in this request with different contents."
            result = InboundResult(
                str(kind),
                key,
                InboundOutcome.REFUSED,
                detail=reason,
                code="duplicate_key",
                errors={"key": [reason]},
            )
            _log(result, record.get("data"), user)
            results.append(result)
            continue
        results.append(inbound_apply(kind=kind, key=key, data=record.get("data"), user=user))
    return results


def inbound_unreadable(*, raw: bytes, reason: str, user: User) -> InboundRecord:
    """Park a payload that doesn't parse, with its body and the parser's reason."""
    return InboundRecord.objects.create(
        kind=InboundKind.UNKNOWN,
        outcome=InboundOutcome.REFUSED,
        body=_storable(raw[:20000].decode("utf-8", errors="replace")),
        reason=_storable(reason)[:2000] or "unreadable",
        code="parse_error",
        user=user,
    )
