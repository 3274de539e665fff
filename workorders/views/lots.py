"""Lot pages: a printable GS1 label per lot or serial unit, and the supervisor's receiving form."""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseLocation
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from mes.errors import MesError
from mes.forms import answer_refused, refusal, refuse
from mes.pdf_text import register_fonts, rtl, visual
from mes.permissions import permission_required
from mes.selectors import sites_visible_to
from workorders import gs1, services
from workorders.forms import LotReceiveForm
from workorders.models import Lot, Product
from workorders.states import Tracking

LABEL_SIZE = (100 * mm, 62 * mm)
MARGIN = 4 * mm


def label_pdf(lot: Lot) -> bytes:
    """A 100 x 62 mm label: part number and name, the code, the quantity, and a GS1-128 barcode
    of the GS1 element string with its human-readable line (a plain Code 128 of the code when the
    product has no GTIN). In the shipped font, so that a label printed in Arabic reads; mirrored
    right to left (the part number and code on the right)."""
    font, bold = register_fonts()
    width, height = LABEL_SIZE
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=LABEL_SIZE, pageCompression=1, initialFontName=font)
    pdf.setTitle(f"Label {lot.code}")
    mirrored = rtl()

    left, right = MARGIN, width - MARGIN

    def start(y: float, text: str) -> None:
        """A line's first item: at the left, or at the right in a right-to-left language."""
        if mirrored:
            pdf.drawRightString(right, y, visual(text))
        else:
            pdf.drawString(left, y, visual(text))

    def end(y: float, text: str) -> None:
        """A line's last item, at its other end."""
        if mirrored:
            pdf.drawString(left, y, visual(text))
        else:
            pdf.drawRightString(right, y, visual(text))

    product = lot.product
    y = height - MARGIN - 4 * mm
    pdf.setFont(bold, 12)
    start(y, product.part_number)
    pdf.setFont(font, 8)
    end(y, f"{lot.get_kind_display()} · {lot.site.code}")
    y -= 4.5 * mm
    start(y, product.name[:60])
    y -= 6 * mm
    pdf.setFont(bold, 14)
    start(y, lot.code)
    pdf.setFont(font, 10)
    end(y, f"{lot.quantity.normalize():f} {product.unit}")
    try:
        data, text = gs1.element_string(lot, raw=True), gs1.element_string(lot)
    except MesError:
        data, text = lot.code, _("%(code)s (no GTIN: not a GS1 label)") % {"code": lot.code}
    bar_width = 0.33 * mm
    barcode = Code128(data, barWidth=bar_width, barHeight=16 * mm, humanReadable=False, quiet=True)
    while barcode.width > width - 2 * MARGIN and bar_width > 0.19 * mm:
        bar_width -= 0.02 * mm
        barcode = Code128(data, barWidth=bar_width, barHeight=16 * mm, humanReadable=False, quiet=True)
    barcode.drawOn(pdf, (width - barcode.width) / 2, MARGIN + 5 * mm)
    pdf.setFont(font, 8)
    pdf.drawCentredString(width / 2, MARGIN + 1 * mm, visual(text))
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _visible_lot(request, code: str) -> Lot:
    lot = (
        Lot.objects.filter(code=code, site__in=sites_visible_to(request.user))
        .select_related("product", "site")
        .first()
    )
    if lot is None:
        raise Http404(_("No such lot."))
    return lot


@require_GET
def label(request, code: str):
    """The label of a lot or serial: for whoever may read lots, and operators at the floor."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    user = request.user
    if not (user.has_perm("workorders.view_lot") or user.has_perm("workorders.record_production")):
        raise PermissionDenied
    lot = _visible_lot(request, code)
    response = HttpResponse(label_pdf(lot), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="label-{lot.code}.pdf"'
    return response


@require_http_methods(["GET", "POST"])
@permission_required("workorders.add_lot")
def receive(request):
    """Receive a supplier lot: part, quantity, supplier and their lot number, and why. A refusal
    shows the form again as typed, with the reason at its field."""
    if request.method != "POST":
        return render(request, "workorders/lot_receive.html", _receive_context(request, None, None))
    form = LotReceiveForm(request.POST, user=request.user)
    if not form.is_valid():
        return _refused(request, form, refusal(form))
    data = form.cleaned_data
    try:
        lot = services.lot_receive(
            product=data["product"],
            site=data["site"],
            quantity=data["quantity"],
            user=request.user,
            code=data["code"],
            supplier=data["supplier"],
            supplier_lot=data["supplier_lot"],
            reason=data["reason"] or "Goods receipt",
        )
    except MesError as exc:
        refuse(form, exc)
        return _refused(request, form, exc)
    messages.success(
        request,
        _("Lot %(code)s received: %(quantity)s %(unit)s.")
        % {"code": lot.code, "quantity": f"{lot.quantity.normalize():f}", "unit": lot.product.unit},
    )
    received = f"{request.path}?received={lot.code}"
    return HttpResponseLocation(received) if request.htmx else redirect(received)


def _refused(request, form: LotReceiveForm, exc: MesError):
    context = _receive_context(request, form, exc)
    return answer_refused(
        request, exc, page="workorders/lot_receive.html", partial="receive_form", context=context
    )


def _receive_context(request, form: LotReceiveForm | None, error: MesError | None) -> dict:
    sites = sites_visible_to(request.user)
    received = request.GET.get("received", "")
    return {
        "products": Product.objects.filter(active=True).exclude(tracking=Tracking.NONE),
        "sites": sites,
        "form": form,
        "error": error,
        "received": Lot.objects.filter(code=received, site__in=sites).first() if received else None,
        "recent": Lot.objects.filter(site__in=sites, work_order__isnull=True)
        .select_related("product")
        .order_by("-created_at")[:10],
    }


urlpatterns = [
    path("lots/receive/", receive, name="lot_receive"),
    path("lots/<str:code>/label.pdf", label, name="lot_label"),
]
