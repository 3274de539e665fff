"""Lots and serial units: their numbers, the lots completions make, received supplier lots, and the
genealogy links between them.

Completions and consumptions call the helpers here inside their own ledger transaction (see
`operations.operation_record_good` and `consumption.operation_consume`), so a lot, a serial or a
link exists iff the ledger event that made it committed. Genealogy is a DAG by construction: BOMs
are kept acyclic (`bom_check_acyclic`), links only follow BOM lines, and `genealogy_link` refuses a
link whose child is already an ancestor of its parent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.errors import Conflict, ValidationFailed, full_clean
from mes.models import Site, User
from mes.selectors import current_shift
from workorders.models import (
    BomLine,
    Consumption,
    GenealogyLink,
    Lot,
    NumberSequence,
    Product,
    ProductionEvent,
    WorkOrder,
)
from workorders.services.events import clean_quantity
from workorders.states import LotKind, LotScope, LotStatus, Tracking

ZERO = Decimal(0)


# --- numbering -----------------------------------------------------------------------------------


def number_period(product: Product, site: Site, at: datetime) -> str:
    """The date part of numbers made at `at`: the site's local date in the product's pattern."""
    if not product.number_date:
        return ""
    return at.astimezone(site.tzinfo).strftime(product.number_date)


def numbers_allocate(*, product: Product, site: Site, count: int, at: datetime | None = None) -> list[str]:
    """Give out the next `count` lot or serial numbers of `product`, unique among all lots.

    `<prefix or part number><date part in the site's zone><sequence, zero-padded>`; the sequence
    restarts with each date period. The period's counter row is locked until the caller's
    transaction ends, so two completions never get the same number. Numbers a lot already holds
    (a received lot typed in by hand, say) are skipped. Refused when the sequence would need more
    digits than the product allows.
    """
    if count < 1:
        return []
    at = at or timezone.now()
    period = number_period(product, site, at)
    prefix = (product.number_prefix or product.part_number) + period
    limit = 10**product.number_digits - 1
    with transaction.atomic():
        # get_or_create on a locking queryset: the loser of a race to create the row hits the
        # unique constraint, and Django re-reads (and locks) the winner's row.
        sequence, _created = NumberSequence.objects.select_for_update().get_or_create(
            product=product, period=period
        )
        codes: list[str] = []
        last = sequence.last
        while len(codes) < count:
            wanted = count - len(codes)
            if last + wanted > limit:
                raise Conflict(
                    _(
                        "The numbers of %(part_number)s for %(period)s are used up (%(number_digits)s digits); give the product more digits."
                    )
                    % {
                        "part_number": product.part_number,
                        "period": period or _("all time"),
                        "number_digits": product.number_digits,
                    },
                    field="number_digits",
                    code="numbers_exhausted",
                )
            batch = [f"{prefix}{n:0{product.number_digits}d}" for n in range(last + 1, last + wanted + 1)]
            taken = set(Lot.objects.filter(code__in=batch).values_list("code", flat=True))
            codes.extend(c for c in batch if c not in taken)
            last += wanted
        NumberSequence.objects.filter(pk=sequence.pk).update(last=last)
    return codes


# --- the DAG -------------------------------------------------------------------------------------


def bom_explosion(product_id: int) -> set[int]:
    """Every product in `product_id`'s BOM explosion, at any depth (one recursive query)."""
    table = BomLine._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE below(id) AS (
                SELECT component_id FROM {table} WHERE product_id = %s
                UNION
                SELECT b.component_id FROM {table} b JOIN below ON b.product_id = below.id
            )
            SELECT id FROM below
            """,
            [product_id],
        )
        return {row[0] for row in cursor.fetchall()}


def bom_check_acyclic(*, product: Product, component: Product, field: str = "component") -> None:
    """Refuse a BOM line that would make the BOM graph cyclic: the component is the product, or
    the product already appears in the component's own BOM explosion."""
    if product.pk == component.pk:
        raise ValidationFailed(
            _("%(part_number)s cannot be a component of itself.") % {"part_number": product.part_number},
            field=field,
            code="bom_cycle",
        )
    if product.pk in bom_explosion(component.pk):
        raise ValidationFailed(
            _(
                "%(part_number)s already contains %(part_number2)s in its bill of materials: the BOM would go round in a circle."
            )
            % {"part_number": component.part_number, "part_number2": product.part_number},
            field=field,
            code="bom_cycle",
        )


def _ancestors_among(lot_id: int, candidates: set[int]) -> set[int]:
    """Which of `candidates` are ancestors of lot `lot_id` (one recursive query)."""
    if not candidates:
        return set()
    table = GenealogyLink._meta.db_table
    marks = ", ".join(["%s"] * len(candidates))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE up(id) AS (
                SELECT parent_id FROM {table} WHERE child_id = %s
                UNION
                SELECT l.parent_id FROM {table} l JOIN up ON l.child_id = up.id
            )
            SELECT id FROM up WHERE id IN ({marks})
            """,
            [lot_id, *candidates],
        )
        return {row[0] for row in cursor.fetchall()}


def genealogy_link(
    *, parent: Lot, child: Lot, quantity: Decimal, event: ProductionEvent, user: User
) -> GenealogyLink:
    """Record that `quantity` of `parent` went into `child`, made by `event`.

    Refused when the child is the parent or one of its ancestors: the genealogy stays a DAG.
    """
    if parent.pk == child.pk or child.pk in _ancestors_among(parent.pk, {child.pk}):
        raise Conflict(
            _(
                "Lot %(code)s is already an ancestor of %(code2)s: linking it as its child would make the genealogy circular."
            )
            % {"code": child.code, "code2": parent.code},
            field="lot",
            code="genealogy_cycle",
        )
    link = GenealogyLink(parent=parent, child=child, quantity=quantity, event=event)
    link._history_user = user
    link._change_reason = f"{event.get_kind_display()} #{event.pk}"
    link.save()
    return link


# --- lots made by production ---------------------------------------------------------------------


def _save_lot(lot: Lot, user: User, reason: str) -> Lot:
    full_clean(lot, validate_unique=False)
    lot._history_user = user
    lot._change_reason = reason
    lot.save()
    return lot


def shift_start_of(site: Site, at: datetime) -> datetime:
    """Where a lot per shift begins: the start of the shift running at `at`, or local midnight
    when the calendar has no shift then (overtime makes one lot per day)."""
    window = current_shift(site, at)
    if window is not None:
        return window.start
    local = at.astimezone(site.tzinfo)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class OutputLot:
    """The order's output lot at a moment: found, or the code it will get when made."""

    lot: Lot | None
    code: str
    shift_start: datetime | None


def output_lot_find(work_order: WorkOrder, at: datetime) -> OutputLot:
    """The output lot of a lot-tracked order at `at` (per order, or per order and shift), or a
    freshly numbered code for it when it does not exist yet. Locks the lot row if it exists."""
    product = work_order.product
    site = work_order.line.site
    shift_start = shift_start_of(site, at) if product.lot_scope == LotScope.SHIFT else None
    lot = (
        Lot.objects.select_for_update(of=("self",))
        .filter(work_order=work_order, kind=LotKind.LOT, shift_start=shift_start)
        .order_by("pk")
        .first()
    )
    if lot is not None:
        return OutputLot(lot, lot.code, shift_start)
    code = numbers_allocate(product=product, site=site, count=1, at=at)[0]
    return OutputLot(None, code, shift_start)


def output_lot_make(found: OutputLot, *, work_order: WorkOrder, event: ProductionEvent, user: User) -> Lot:
    """Make the output lot `output_lot_find` numbered, if it does not exist yet (quantity 0)."""
    if found.lot is not None:
        return found.lot
    found.lot = _save_lot(
        Lot(
            code=found.code,
            kind=LotKind.LOT,
            product=work_order.product,
            site=work_order.line.site,
            work_order=work_order,
            shift_start=found.shift_start,
            created_event=event,
            produced_at=event.occurred_at,
        ),
        user,
        f"Output lot of order {work_order.number}",
    )
    return found.lot


def completion_numbers(work_order: WorkOrder, quantity: Decimal, at: datetime) -> dict:
    """What a completion at the last operation makes, decided before its ledger event: the serial
    numbers of a serial-tracked product or the output lot of a lot-tracked one. Its `data` goes
    into the event, so the lots can be rebuilt from the ledger."""
    tracking = work_order.product.tracking
    if tracking == Tracking.SERIAL:
        if quantity != quantity.to_integral_value():
            raise ValidationFailed(
                _("Serial units are counted in whole numbers."), field="quantity", code="not_whole"
            )
        serials = numbers_allocate(
            product=work_order.product, site=work_order.line.site, count=int(quantity), at=at
        )
        return {"data": {"serials": serials}, "serials": serials}
    if tracking == Tracking.LOT:
        found = output_lot_find(work_order, at)
        return {"data": {"lot": found.code}, "output": found}
    return {"data": {}}


def completion_lots_make(
    plan: dict, *, work_order: WorkOrder, event: ProductionEvent, quantity: Decimal, user: User
) -> list[Lot]:
    """Make what `completion_numbers` planned, in the completion's transaction: one serial unit
    per unit (linked to the order's consumed material, first in first out), or the quantity added
    to the output lot."""
    if "serials" in plan:
        serials = [
            _save_lot(
                Lot(
                    code=code,
                    kind=LotKind.SERIAL,
                    product=work_order.product,
                    site=work_order.line.site,
                    work_order=work_order,
                    created_event=event,
                    quantity=Decimal(1),
                    produced_at=event.occurred_at,
                ),
                user,
                f"Serial unit of order {work_order.number}",
            )
            for code in plan["serials"]
        ]
        allocate_to_serials(work_order=work_order, serials=serials, user=user)
        return serials
    if "output" in plan:
        lot = output_lot_make(plan["output"], work_order=work_order, event=event, user=user)
        lot.quantity += quantity
        Lot.objects.filter(pk=lot.pk).update(quantity=lot.quantity)
        if lot.status == LotStatus.CONSUMED and lot.quantity > lot.quantity_consumed:
            lot.status = LotStatus.AVAILABLE  # more was made after it had all been used
            lot._history_user = user
            lot._change_reason = f"Completion #{event.pk} added to it"
            lot.save(update_fields=["status"])
        return [lot]
    return []


def allocate_to_serials(*, work_order: WorkOrder, serials: list[Lot], user: User) -> None:
    """Link the order's consumed lots to new serial units, first in first out, by the BOM
    quantity per unit; each link carries the consumption's event. A unit whose material was not
    (all) recorded gets what there is."""
    if not serials:
        return
    per_unit = dict(
        BomLine.objects.filter(product=work_order.product).values_list("component_id", "quantity")
    )
    if not per_unit:
        return
    open_consumptions = list(
        Consumption.objects.filter(work_order=work_order, quantity_allocated__lt=F("quantity"))
        .select_related("lot", "event")
        .order_by("pk")
    )
    allocated: dict[int, Decimal] = {}
    for serial in serials:
        for component_id, need in per_unit.items():
            for consumption in open_consumptions:
                if need <= 0:
                    break
                if consumption.lot.product_id != component_id:
                    continue
                free = consumption.quantity - consumption.quantity_allocated
                if free <= 0:
                    continue
                take = min(need, free)
                genealogy_link(
                    parent=consumption.lot, child=serial, quantity=take, event=consumption.event, user=user
                )
                consumption.quantity_allocated += take
                allocated[consumption.pk] = consumption.quantity_allocated
                need -= take
    for pk, value in allocated.items():
        Consumption.objects.filter(pk=pk).update(quantity_allocated=value)


# --- received lots -------------------------------------------------------------------------------


@transaction.atomic
def lot_receive(
    *,
    product: Product,
    site: Site,
    quantity,
    user: User,
    code: str = "",
    supplier: str = "",
    supplier_lot: str = "",
    reason: str = "",
    received_at: datetime | None = None,
) -> Lot:
    """Receive a supplier lot into stock, under a given code or the next number of the product.

    Refused for an untracked product, a code already in use or a quantity that is not a positive
    number; the history records who received it and why.
    """
    if product.tracking == Tracking.NONE:
        raise ValidationFailed(
            _("%(part_number)s is not tracked by lot or serial.") % {"part_number": product.part_number},
            field="product",
            code="not_tracked",
        )
    qty = clean_quantity(quantity, unit=product.unit)
    serial = product.tracking == Tracking.SERIAL
    if serial and qty != 1:
        raise ValidationFailed(
            _("A serial unit is received one at a time (quantity 1)."), field="quantity", code="serial_is_one"
        )
    at = received_at or timezone.now()
    code = (code or "").strip()
    if code:
        if Lot.objects.filter(code=code).exists():
            raise Conflict(
                _("Lot %(code)s exists already.") % {"code": code}, field="code", code="duplicate_lot"
            )
    else:
        code = numbers_allocate(product=product, site=site, count=1, at=at)[0]
    return _save_lot(
        Lot(
            code=code,
            kind=LotKind.SERIAL if serial else LotKind.LOT,
            product=product,
            site=site,
            quantity=qty,
            supplier=supplier.strip()[:200],
            supplier_lot=supplier_lot.strip()[:64],
            produced_at=at,
        ),
        user,
        reason.strip()[:100] or "Received",
    )


def lot_consumed(lot: Lot, quantity: Decimal, user: User, reason: str) -> None:
    """Count `quantity` of a locked lot as consumed; a lot with nothing left becomes consumed."""
    lot.quantity_consumed += quantity
    Lot.objects.filter(pk=lot.pk).update(quantity_consumed=lot.quantity_consumed)
    if lot.quantity_consumed >= lot.quantity and lot.status == LotStatus.AVAILABLE:
        lot.status = LotStatus.CONSUMED
        lot._history_user = user
        lot._change_reason = reason
        lot.save(update_fields=["status"])
