"""Holds at the desk: hold an order, release a hold with an e-signature (the overview lists them)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mes.errors import MesError
from mes.forms import posted_id
from mes.idempotency import parse_key
from mes.permissions import permission_required
from mes.selectors import sites_visible_to
from quality import services
from quality.models import Hold
from quality.views._helpers import done
from quality.views.desk.common import refuse
from quality.views.desk.forms import HoldPlaceForm, HoldReleaseForm
from quality.views.desk.overview import PAGE, overview_context
from workorders.models import WorkOrder


@require_POST
@permission_required("quality.add_hold")
def hold_place(request):
    form = HoldPlaceForm(request.POST)
    try:
        data = form.checked()
        order = get_object_or_404(
            WorkOrder.objects.filter(line__site__in=sites_visible_to(request.user)),
            pk=posted_id(request, "work_order", message=_("Choose a work order.")),
        )
        services.hold_place(
            key=parse_key(data["idempotency_key"]), user=request.user, work_order=order, reason=data["reason"]
        )
    except MesError as exc:
        context = overview_context(request)
        return refuse(request, form, exc, page=PAGE, partial="hold_place_form", context=context)
    return done(
        request, _("Order %(order)s is on hold.") % {"order": order.number}, reverse("quality_overview")
    )


@require_POST
@permission_required("quality.release_hold")
def hold_release(request, pk: int):
    hold = get_object_or_404(Hold.objects.filter(site__in=sites_visible_to(request.user)), pk=pk)
    form = HoldReleaseForm(request.POST)
    try:
        data = form.checked()
        services.hold_release(
            hold_id=hold.pk,
            user=request.user,
            reason=data["reason"],
            key=parse_key(data["idempotency_key"]),
            request=request,
            **form.credentials(),
        )
    except MesError as exc:
        # The release form of this hold's row comes back as typed; the others stay blank.
        context = overview_context(request, hold=hold, release_forms={hold.pk: form})
        return refuse(request, form, exc, page=PAGE, partial="release_form", context=context)
    return done(request, _("Hold released."), reverse("quality_overview"))
