"""The demo's master data, written as the demo admin through the master-data service."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from mes.demo import DEMO_SITE
from mes.models import User, Workstation
from workorders import services
from workorders.demo.data import (
    ADMIN,
    BOM,
    LABELS,
    PRODUCTS,
    REASONS,
    ROUTINGS,
    demo_gtin,
    reason_translations,
)
from workorders.models import BomLine, Product, ReasonCode, Routing, RoutingOperation


def seed_master_data(say: Callable[[str], None]) -> dict[tuple[str, str], Routing]:
    """Add the reason codes, products, BOM lines and routings that are missing, as the demo admin."""
    admin = User.objects.get(username=ADMIN)

    def _ensure(model, lookup: dict, defaults: dict, label: str):
        obj = model.objects.filter(**lookup).first()
        if obj is None:
            obj = services.master_data_save(
                instance=model(**lookup, **defaults), user=admin, reason="Demo plant"
            )
            say(label)
        return obj

    for code, name, kind, loss, planned in REASONS:
        _ensure(
            ReasonCode,
            {"code": code},
            {
                "name": name,
                "kind": kind,
                "loss": loss,
                "planned": planned,
                "translations": reason_translations(code),
            },
            f"reason {code}",
        )

    def labels(pn: str) -> dict:
        if pn not in LABELS:
            return {}
        item, prefix, scope = LABELS[pn]
        return {"gtin": demo_gtin(item), "number_prefix": prefix, "lot_scope": scope}

    products = {
        pn: _ensure(
            Product,
            {"part_number": pn},
            {"name": name, "unit": unit, "tracking": tracking, **labels(pn)},
            f"product {pn}",
        )
        for pn, name, unit, tracking in PRODUCTS
    }
    for product, components in BOM.items():
        for component, quantity in components:
            _ensure(
                BomLine,
                {"product": products[product], "component": products[component]},
                {"quantity": Decimal(quantity)},
                f"BOM {product} <- {component}",
            )
    stations = {ws.code: ws for ws in Workstation.objects.filter(line__site__code=DEMO_SITE)}
    routings = {}
    for (product, code), (name, steps) in ROUTINGS.items():
        routing = _ensure(
            Routing,
            {"product": products[product], "code": code},
            {"name": name},
            f"routing {product}/{code}",
        )
        for step in steps:
            _ensure(
                RoutingOperation,
                {"routing": routing, "sequence": step.sequence},
                {
                    "name": step.name,
                    "workstation": stations[step.workstation],
                    "setup_seconds": step.setup_seconds,
                    "ideal_cycle_seconds": Decimal(step.ideal_cycle_seconds),
                },
                f"operation {product}/{code}/{step.sequence}",
            )
        routings[(product, code)] = routing
    return routings
