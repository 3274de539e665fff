"""The demo plant's history consumes material, so its finished pumps have a deep genealogy."""

from django.db import connection

from mes.demo import seed_plant
from workorders import services
from workorders.demo.replay import seed_production
from workorders.models import Consumption, GenealogyLink, Lot
from workorders.states import LotKind


def _depth(lot_id: int) -> int:
    """Levels of ancestry above a lot (one recursive query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE up(id, depth) AS (
                SELECT parent_id, 1 FROM workorders_genealogylink WHERE child_id = %s
                UNION
                SELECT l.parent_id, up.depth + 1 FROM workorders_genealogylink l JOIN up ON l.child_id = up.id
            )
            SELECT COALESCE(MAX(depth), 0) FROM up
            """,
            [lot_id],
        )
        return cursor.fetchone()[0] + 1


def test_demo_pumps_trace_back_through_parts_to_supplier_lots(db):
    seed_plant(lambda msg: None)
    seed_production(lambda msg: None)
    serials = Lot.objects.filter(product__part_number="FG-100", kind=LotKind.SERIAL)
    assert serials.exists()
    assert all(s.product.gtin for s in serials[:1])
    deepest = max(_depth(s.pk) for s in serials)
    assert deepest >= 3  # bar stock -> housing or shaft lot -> pump serial
    raw = GenealogyLink.objects.filter(parent__supplier__gt="", child__product__part_number="HSG-10")
    assert raw.exists()
    # Every consumption's counters are what the ledger says.
    lots = list(Lot.objects.order_by("pk").values("code", "quantity", "quantity_consumed", "status"))
    allocated = list(Consumption.objects.order_by("pk").values_list("quantity_allocated", flat=True))
    services.rebuild_projections()
    assert list(Lot.objects.order_by("pk").values("code", "quantity", "quantity_consumed", "status")) == lots
    assert list(Consumption.objects.order_by("pk").values_list("quantity_allocated", flat=True)) == allocated
