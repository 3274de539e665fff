"""The per-entity appliers of the ERP's records: products, BOMs, routings and work orders, upserted
by their ERP keys through the production services.

Each applier runs inside the record's transaction (`inbound_apply`), reads the record with the
`parsing` readers, and answers (outcome, id): `created`, `updated`, or `unchanged` when the record
is what is already there. A refusal raises a domain error naming the field.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.utils.translation import gettext

from integration import units
from integration.services.inbound.parsing import (
    decimal,
    due_time,
    known_product,
    known_workstation,
    optional_text,
    required,
    required_text,
)
from integration.states import InboundKind, InboundOutcome
from mes.errors import Conflict, IllegalTransition, ValidationFailed
from mes.models import Line, User
from workorders import services as production
from workorders.models import BomLine, Product, Routing, WorkOrder
from workorders.states import Tracking, WorkOrderStatus, can_transition

S = WorkOrderStatus
ERP_NAMESPACE = uuid.UUID("6f1c7f0e-3d4b-4c8e-9a53-0c2f0d6e4e11")
REASON = "ERP update"


def _changed(instance, values: dict) -> bool:
    return any(getattr(instance, k) != v for k, v in values.items())


# --- products -----------------------------------------------------------------------------------


def _apply_product(key: str, data: dict, user: User) -> tuple[str, int]:
    values = {"name": required_text(data, "name"), "unit": units.normalise(required_text(data, "unit"))}
    if not units.known(values["unit"]):
        raise ValidationFailed(
            gettext("Unit '%(unit)s' is not a unit the MES knows.") % {"unit": data["unit"]},
            field="unit",
            code="unknown_unit",
        )
    if "tracking" in data:
        if data["tracking"] not in Tracking.values:
            raise ValidationFailed(
                gettext("tracking must be one of %(values)s.") % {"values": ", ".join(Tracking.values)},
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
            gettext("%(key)s has work orders counted in %(unit)s; its unit can't change to %(new_unit)s.")
            % {"key": key, "unit": product.unit, "new_unit": values["unit"]},
            field="unit",
            code="unit_in_use",
        )
    for name, value in values.items():
        setattr(product, name, value)
    production.master_data_save(instance=product, user=user, reason=REASON)
    return InboundOutcome.UPDATED, product.pk


# --- BOMs ---------------------------------------------------------------------------------------


def _apply_bom(key: str, data: dict, user: User) -> tuple[str, int]:
    product = known_product(key, "key")
    lines = required(data, "lines")
    if not isinstance(lines, list):
        raise ValidationFailed(gettext("lines must be a list."), field="lines", code="not_a_list")
    wanted: dict[int, Decimal] = {}
    for i, line in enumerate(lines):
        prefix = f"lines[{i}]."
        if not isinstance(line, dict):
            raise ValidationFailed(
                gettext("lines[%(i)s] must be an object.") % {"i": i},
                field=f"lines[{i}]",
                code="not_an_object",
            )
        component = known_product(required_text(line, "component", prefix), f"{prefix}component")
        quantity = decimal(required(line, "quantity", prefix), f"{prefix}quantity")
        if quantity <= 0:
            raise ValidationFailed(
                gettext("The quantity must be more than zero."),
                field=f"{prefix}quantity",
                code="not_positive",
            )
        quantity = units.convert(
            quantity,
            optional_text(line, "unit", prefix) or component.unit,
            component.unit,
            field=f"{prefix}unit",
        )
        if component.pk in wanted:
            raise Conflict(
                gettext("%(part_number)s appears twice.") % {"part_number": component.part_number},
                field=f"{prefix}component",
                code="duplicate_line",
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


def _apply_routing(key: str, data: dict, user: User) -> tuple[str, int]:
    if "/" not in key:
        raise ValidationFailed(gettext("A routing's key is PRODUCT/CODE."), field="key", code="invalid_key")
    part_number, code = key.split("/", 1)
    product = known_product(part_number, "key")
    operations_in = required(data, "operations")
    if not isinstance(operations_in, list):
        raise ValidationFailed(gettext("operations must be a list."), field="operations", code="not_a_list")
    operations = []
    for i, op in enumerate(operations_in):
        prefix = f"operations[{i}]."
        if not isinstance(op, dict):
            raise ValidationFailed(
                gettext("operations[%(i)s] must be an object.") % {"i": i},
                field=f"operations[{i}]",
                code="not_an_object",
            )
        try:
            sequence = int(required(op, "sequence", prefix))
            setup = int(op.get("setup_seconds") or 0)
        except (TypeError, ValueError):
            raise ValidationFailed(
                gettext("sequence and setup_seconds are whole numbers."),
                field=f"{prefix}sequence",
                code="not_a_number",
            ) from None
        operations.append(
            {
                "sequence": sequence,
                "name": required_text(op, "name", prefix),
                "workstation": known_workstation(
                    required_text(op, "workstation", prefix), f"{prefix}workstation"
                ),
                "setup_seconds": setup,
                "ideal_cycle_seconds": decimal(
                    required(op, "ideal_cycle_seconds", prefix), f"{prefix}ideal_cycle_seconds"
                ),
            }
        )
    values = {"name": required_text(data, "name"), "allow_overlap": bool(data.get("allow_overlap", False))}
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


def _apply_work_order(key: str, data: dict, user: User) -> tuple[str, int]:
    product = known_product(required_text(data, "material"))
    quantity = decimal(required(data, "quantity"), "quantity")
    quantity = units.convert(quantity, optional_text(data, "unit") or product.unit, product.unit)
    due = due_time(data.get("due"))
    target = optional_text(data, "status") or None
    routing_code, line_code = optional_text(data, "routing"), optional_text(data, "line")
    if target is not None and target not in (S.DRAFT, S.RELEASED, S.CANCELLED, S.CLOSED):
        raise ValidationFailed(
            gettext("status may be draft, released, cancelled or closed."),
            field="status",
            code="invalid_status",
        )
    order = WorkOrder.objects.select_for_update().filter(number=key).first()
    if order is None:
        if target in (S.CANCELLED, S.CLOSED):
            raise ValidationFailed(
                gettext("A new order can't start %(target)s.") % {"target": target},
                field="status",
                code="invalid_status",
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
                raise ValidationFailed(
                    gettext("Line %(line_code)s is not known.") % {"line_code": line_code},
                    field="line",
                    code="unknown_line",
                )
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
            gettext("Order %(key)s makes %(part_number)s; the ERP can't change it to %(part_number2)s.")
            % {"key": key, "part_number": order.product.part_number, "part_number2": product.part_number},
            field="material",
            code="product_change",
        )
    if order.status == S.CANCELLED and target != S.CANCELLED:
        raise IllegalTransition(
            gettext("Order %(key)s is cancelled; a cancelled order can't be reopened.") % {"key": key},
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
            gettext("Order %(key)s is %(status)s; it can't be changed.")
            % {"key": key, "status": order.status},
            field="status",
            code="order_final",
        )
    if changes:
        order = production.workorder_update(
            work_order_id=order.pk, version=order.version, user=user, reason=REASON, **changes
        )
    if moving:
        if not can_transition(order.status, target):
            raise IllegalTransition(
                gettext("Order %(key)s is %(status)s: the ERP can't make it %(target)s.")
                % {"key": key, "status": order.get_status_display().lower(), "target": target},
                field="status",
            )
        production.workorder_transition(
            work_order_id=order.pk,
            target=target,
            user=user,
            key=_transition_key(key, target, order.version),
            reason=optional_text(data, "reason") or f"{REASON}: {target}",
        )
    return InboundOutcome.UPDATED, order.pk


APPLIERS = {
    InboundKind.PRODUCT: _apply_product,
    InboundKind.BOM: _apply_bom,
    InboundKind.ROUTING: _apply_routing,
    InboundKind.WORK_ORDER: _apply_work_order,
}
