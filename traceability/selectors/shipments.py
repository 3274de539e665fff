"""What left the plant: a lot's shipments, as the trace page shows them beside its genealogy."""

from __future__ import annotations

from django.db.models import QuerySet

from traceability.models import Shipment
from workorders.models import Lot


def lot_shipments(lot: Lot) -> QuerySet[Shipment]:
    """The shipments of `lot`, latest first (a lot can leave in several partial shipments)."""
    return Shipment.objects.filter(lot=lot).select_related("shipped_by").order_by("-shipped_at", "-pk")
