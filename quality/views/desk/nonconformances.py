"""A nonconformance at the desk: open one, read it with its signatures and audit trail, and move
it on (investigate, disposition with an e-signature, close, hold its order)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mes.errors import MesError, ValidationFailed
from mes.forms import posted_id
from mes.idempotency import parse_key
from mes.permissions import permission_required
from mes.selectors import sites_visible_to
from mes.signatures import manifestations
from quality import services
from quality.models import Nonconformance
from quality.states import Disposition
from quality.views._helpers import done
from quality.views.desk import overview as overview_page
from quality.views.desk.common import VIEW_NC, do_verb, refuse, site_of
from quality.views.desk.forms import DispositionForm, HoldPlaceForm, NonconformanceOpenForm, NoteForm
from workorders.models import WorkOrder

PAGE = "quality/nonconformance.html"


def _nc_or_404(request, pk):
    return get_object_or_404(
        Nonconformance.objects.filter(site__in=sites_visible_to(request.user)).select_related(
            "work_order", "operation", "workstation", "item__version__template", "response", "operator"
        ),
        pk=pk,
    )


def _context(nc: Nonconformance, **forms) -> dict:
    return {
        "nc": nc,
        "signatures": manifestations(nc),
        "dispositions": Disposition.choices,
        "history": nc.history.select_related("history_user").order_by("history_date"),
        "holds": nc.holds.all(),
        "investigate_form": NoteForm(),
        "disposition_form": DispositionForm(),
        "close_form": NoteForm(),
        "hold_form": HoldPlaceForm(),
        **forms,
    }


@permission_required(VIEW_NC)
def nonconformance_detail(request, pk: int):
    return render(request, PAGE, _context(_nc_or_404(request, pk)))


@require_POST
@permission_required("quality.add_nonconformance")
def nonconformance_open(request):
    form = NonconformanceOpenForm(request.POST)
    try:
        data = form.checked()
        order_id = posted_id(request, "work_order", required=False, message=_("Choose a work order."))
        order = WorkOrder.objects.filter(pk=order_id, line__site__in=sites_visible_to(request.user)).first()
        result = services.nonconformance_open(
            key=parse_key(data["idempotency_key"]),
            user=request.user,
            site=order.line.site if order else site_of(request),
            title=data["title"],
            description=data["description"],
            work_order=order,
            lot_code=data["lot_code"],
        )
    except MesError as exc:
        return refuse(
            request,
            form,
            exc,
            page=overview_page.PAGE,
            partial="nc_open_form",
            context=overview_page.overview_context(request),
        )
    return done(
        request, _("Nonconformance opened."), reverse("quality_nonconformance", args=[result.result_id])
    )


def _verb(request, pk: int, form, partial: str, act) -> HttpResponse:
    """Do one verb on the nonconformance (see `common.do_verb`)."""
    nc = _nc_or_404(request, pk)
    return do_verb(
        request,
        form,
        lambda data: act(nc, data, form),
        page=PAGE,
        partial=partial,
        context=lambda: _context(nc),
        back=reverse("quality_nonconformance", args=[pk]),
        message=_("%(number)s: done.") % {"number": nc.number},
    )


@require_POST
@permission_required(VIEW_NC)
def nonconformance_investigate(request, pk: int):
    def act(nc, data, form):
        services.nonconformance_investigate(nonconformance_id=nc.pk, user=request.user, note=data["note"])

    return _verb(request, pk, NoteForm(request.POST), "investigate_form", act)


@require_POST
@permission_required(VIEW_NC)
def nonconformance_disposition(request, pk: int):
    def act(nc, data, form):
        services.nonconformance_disposition(
            nonconformance_id=nc.pk,
            user=request.user,
            disposition=data["disposition"],
            note=data["note"],
            request=request,
            **form.credentials(),
        )

    return _verb(request, pk, DispositionForm(request.POST), "disposition_form", act)


@require_POST
@permission_required(VIEW_NC)
def nonconformance_close(request, pk: int):
    def act(nc, data, form):
        services.nonconformance_close(nonconformance_id=nc.pk, user=request.user, note=data["note"])

    return _verb(request, pk, NoteForm(request.POST), "close_form", act)


@require_POST
@permission_required(VIEW_NC)
def nonconformance_hold(request, pk: int):
    def act(nc, data, form):
        if not nc.work_order_id:
            raise ValidationFailed(
                _("This nonconformance names no order to hold."), field="reason", code="no_order"
            )
        services.hold_place(
            key=parse_key(data["idempotency_key"]),
            user=request.user,
            work_order=nc.work_order,
            reason=data["reason"] or nc.title,
            nonconformance=nc,
        )

    return _verb(request, pk, HoldPlaceForm(request.POST), "hold_form", act)
