"""Reads of lots for the floor and the API: one level of genealogy, what an operation consumed,
the serial units an order just made. The deep trace (all ancestors / descendants) lives in
`traceability.selectors`."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Max, QuerySet, Sum

from workorders.models import Consumption, GenealogyLink, Lot, WorkOrderOperation
from workorders.states import LotKind


def lots_visible(sites) -> QuerySet[Lot]:
    return Lot.objects.filter(site__in=sites).select_related("product", "work_order", "site")


@dataclass
class LotDetail:
    lot: Lot
    parents: list[GenealogyLink]
    children: list[GenealogyLink]
    consumptions: list[Consumption]


def lot_detail(lot: Lot) -> LotDetail:
    """A lot with its direct parents and children and where it was consumed (three queries)."""
    parents = list(GenealogyLink.objects.filter(child=lot).select_related("parent__product").order_by("pk"))
    children = list(GenealogyLink.objects.filter(parent=lot).select_related("child__product").order_by("pk"))
    consumptions = list(
        Consumption.objects.filter(lot=lot)
        .select_related("work_order", "operation", "event__user", "event__workstation")
        .order_by("pk")
    )
    return LotDetail(lot, parents, children, consumptions)


def consumed_lots_of_operation(operation: WorkOrderOperation) -> list[dict]:
    """What an operation consumed, one row per lot with its total, the lot consumed last first.

    An order draws the same lot many times; the operator needs the lots and how much of each.
    """
    return list(
        Consumption.objects.filter(operation=operation)
        .values("lot__code", "lot__product__part_number", "lot__product__unit")
        .annotate(total=Sum("quantity"), times=Count("pk"), last=Max("event__occurred_at"))
        .order_by("-last", "lot__code")
    )


def serials_of_order(work_order_id: int, limit: int = 12) -> list[Lot]:
    """The serial units an order made last, newest first."""
    return list(
        Lot.objects.filter(work_order_id=work_order_id, kind=LotKind.SERIAL).order_by(
            "-created_event_id", "-code"
        )[:limit]
    )
