"""Shipping: lots and serial units leave the plant for a customer.

`lot_ship` is the one way out. It records who shipped how much of which lot to which customer
under which reference (their order, our delivery note) and when, in one transaction with the
lot's row locked: the shipment and its history row, and the lot's move to `shipped` (with who
and why in the lot's history) once nothing of it is left. Before it writes, the production
guards registered for "lot_ship" are asked (`mes.hooks`): traceability's own refuses a lot
whose maker's production record is not released where the site requires release
(`traceability.record.guards`), and a lot on quality hold does not ship.

A lot may ship in parts; what shipped is no longer there to be consumed (see
`traceability.record.guards.shipped_quantity_left`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from mes import hooks, idempotency
from mes.errors import Conflict, NotFound, ValidationFailed, full_clean
from mes.models import User
from mes.selectors import sites_visible_to
from traceability.models import Shipment
from workorders.models import Lot
from workorders.services.events import clean_quantity
from workorders.states import LotKind, LotStatus

# A shipment booked afterwards (the truck left an hour ago) is fine; one dated ahead is a typo.
MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_BACKDATE = timedelta(days=7)
ZERO = Decimal(0)


def shipped_quantity(lot: Lot) -> Decimal:
    return Shipment.objects.filter(lot=lot).aggregate(total=Sum("quantity"))["total"] or ZERO


def _text(value, *, field: str, label: str, max_length: int, required: bool) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise ValidationFailed(_("Say %(what)s.") % {"what": label}, field=field, code="required")
    if len(text) > max_length:
        raise ValidationFailed(
            _("At most %(n)s characters.") % {"n": max_length}, field=field, code="too_long"
        )
    return text


def _shipped_at(value: datetime | None) -> datetime:
    now = timezone.now()
    if value is None:
        return now
    if timezone.is_naive(value):
        raise ValidationFailed(
            _("The time must include its time zone."), field="shipped_at", code="naive_time"
        )
    if value > now + MAX_CLOCK_SKEW:
        raise ValidationFailed(_("The time lies in the future."), field="shipped_at", code="future_time")
    if value < now - MAX_BACKDATE:
        raise ValidationFailed(_("The time is more than a week old."), field="shipped_at", code="too_old")
    return value


@dataclass(frozen=True)
class Shipped:
    shipment: Shipment
    replayed: bool  # a retry of a request already done: nothing shipped again


def lot_ship(
    *,
    key: uuid.UUID,
    code: str,
    customer: str,
    reference: str,
    user: User,
    quantity=None,
    shipped_at: datetime | None = None,
    note: str = "",
) -> Shipped:
    """Ship `quantity` of lot `code` (all that is left when not given) to `customer` under
    `reference`, once per idempotency `key`: the same person sending the same request again gets
    the first shipment back (`replayed`), the key with another request or from someone else is a
    409 (`mes.idempotency.run_once`).

    Refused, naming the field, with nothing written: an unknown lot or one at a site `user` does
    not work at (404 on `lot`), no customer or reference, a bad or too large quantity
    (`quantity`), a lot that is not available (consumed, scrapped, shipped), a time in the future,
    and whatever a "lot_ship" guard refuses (an unreleased record, a quality hold: 409 on `lot`)."""
    request = {
        "lot": code, "customer": customer, "reference": reference, "quantity": idempotency.amount(quantity),
        "shipped_at": shipped_at, "note": note,
    }  # fmt: skip

    def ship(fingerprint: str) -> int:
        return _ship(
            key=key, fingerprint=fingerprint, code=code, customer=customer, reference=reference,
            user=user, quantity=quantity, shipped_at=shipped_at, note=note,
        ).pk  # fmt: skip

    once = idempotency.run_once(key=key, author=user, request=request, act=ship, recorded=_recorded)
    shipment = Shipment.objects.select_related("lot__product", "site", "shipped_by").get(pk=once.result)
    return Shipped(shipment, once.replayed)


def _recorded(key: uuid.UUID) -> idempotency.Earlier[int] | None:
    found = Shipment.objects.filter(idempotency_key=key).values_list(
        "shipped_by_id", "request_fingerprint", "pk"
    )
    row = found.first()
    return idempotency.Earlier(*row) if row is not None else None


def _ship(*, key, fingerprint, code, customer, reference, user, quantity, shipped_at, note) -> Shipment:
    code = (code or "").strip()
    if not code:
        raise ValidationFailed(_("Scan or type the lot number."), field="lot", code="required")
    customer = _text(customer, field="customer", label=_("who it ships to"), max_length=200, required=True)
    reference = _text(
        reference, field="reference", label=_("the order or delivery note it ships under"), max_length=100,
        required=True,
    )  # fmt: skip
    note = _text(note, field="note", label=_("a note"), max_length=500, required=False)
    at = _shipped_at(shipped_at)
    lot = (
        Lot.objects.select_for_update(of=("self",))
        .select_related("product", "site")
        .filter(code=code, site__in=sites_visible_to(user))
        .first()
    )
    if lot is None:
        raise NotFound(
            _("There is no lot %(lot)s at your sites.") % {"lot": code}, field="lot", code="unknown_lot"
        )
    if lot.status != LotStatus.AVAILABLE:
        raise Conflict(
            _("Lot %(lot)s is %(status)s: it cannot be shipped.")
            % {"lot": lot.code, "status": lot.get_status_display().lower()},
            field="lot",
            code="lot_not_available",
        )
    left = lot.quantity_left - shipped_quantity(lot)
    if left <= 0:
        raise Conflict(
            _("Nothing of lot %(lot)s is left.") % {"lot": lot.code}, field="lot", code="nothing_left"
        )
    qty = left if quantity in (None, "") else clean_quantity(quantity, unit=lot.product.unit)
    if qty > left:
        raise Conflict(
            _("Only %(left)s %(unit)s of lot %(lot)s is left.")
            % {"left": f"{left.normalize():f}", "unit": lot.product.unit, "lot": lot.code},
            field="quantity",
            code="over_lot_quantity",
        )
    hooks.run_guards("lot_ship", lot=lot, user=user, quantity=qty)
    shipment = Shipment(
        lot=lot, site=lot.site, quantity=qty, customer=customer, reference=reference, note=note,
        shipped_by=user, shipped_at=at, idempotency_key=key, request_fingerprint=fingerprint,
    )  # fmt: skip
    full_clean(shipment, validate_unique=False)
    why = f"Shipped to {customer} ({reference})"[:100]
    shipment._history_user = user
    shipment._change_reason = why
    shipment.save()
    if qty == left:
        lot.status = LotStatus.SHIPPED
        lot._history_user = user
        lot._change_reason = why
        lot.save(update_fields=["status"])
    return shipment


def describe(shipment: Shipment) -> str:
    """One line for a confirmation: what left, how much, to whom."""
    lot = shipment.lot
    what = _("Serial") if lot.kind == LotKind.SERIAL else _("Lot")
    return _("%(what)s %(lot)s shipped: %(qty)s %(unit)s to %(customer)s (%(reference)s).") % {
        "what": what,
        "lot": lot.code,
        "qty": f"{shipment.quantity.normalize():f}",
        "unit": lot.product.unit,
        "customer": shipment.customer,
        "reference": shipment.reference,
    }
