"""The shipping desk: ship a lot or serial unit to a customer, and the shipments of late.

A refusal shows the form again as typed, with the reason at its field (an unreleased production
record or a quality hold at the lot, 409); a shipment answers with what left and where to.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseLocation

from mes import idempotency
from mes.errors import MesError, ValidationFailed
from mes.forms import answer_refused, refusal, refuse
from mes.permissions import permission_required
from mes.selectors import sites_visible_to
from traceability.models import Shipment
from traceability.shipping import describe, lot_ship

PAGE = "traceability/shipping.html"


class ShipForm(forms.Form):
    """What the shipping desk reads; the service checks it and names the field at fault."""

    lot = forms.CharField(required=False)
    customer = forms.CharField(required=False)
    reference = forms.CharField(required=False)
    quantity = forms.CharField(required=False, strip=False)
    note = forms.CharField(required=False)
    idempotency_key = forms.CharField(required=False)

    def clean_idempotency_key(self):
        try:
            return idempotency.parse_key(self.cleaned_data["idempotency_key"])
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.message) from None


def _context(request, form: ShipForm | None, error: MesError | None) -> dict:
    return {
        "form": form,
        "error": error,
        # Each form shown gets its own key: a double tap ships once, a corrected form anew.
        "ship_key": uuid.uuid4(),
        "lot": request.GET.get("lot", ""),
        "recent": Shipment.objects.filter(site__in=sites_visible_to(request.user))
        .select_related("lot__product", "shipped_by")
        .order_by("-shipped_at", "-pk")[:20],
    }


@require_http_methods(["GET", "POST"])
@permission_required("traceability.ship_lot")
def ship(request):
    """Ship a lot: its number, the customer and their order or our delivery note, how much."""
    if request.method != "POST":
        return render(request, PAGE, _context(request, None, None))
    form = ShipForm(request.POST)
    if not form.is_valid():
        return _refused(request, form, refusal(form))
    data = form.cleaned_data
    try:
        shipped = lot_ship(
            key=data["idempotency_key"],
            code=data["lot"],
            customer=data["customer"],
            reference=data["reference"],
            quantity=data["quantity"].strip() or None,
            note=data["note"],
            user=request.user,
        )
    except MesError as exc:
        refuse(form, exc)
        return _refused(request, form, exc)
    messages.success(request, describe(shipped.shipment))
    return HttpResponseLocation(request.path) if request.htmx else redirect(request.path)


def _refused(request, form: ShipForm, exc: MesError):
    return answer_refused(request, exc, page=PAGE, partial="ship_form", context=_context(request, form, exc))
