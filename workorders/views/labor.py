"""Labor as CSV: each person's time on each operation, per order or per site and days, per shift.

The desk download (`/labor/export.csv`) and the API (`GET /api/v1/labor/`, for the ERP with its
token) read the same query (`LaborQueryForm`, `labor_query`) and write the same file with the
project's one CSV writer: a value that is not one is refused with 400 naming the field, an order
or site the person may not see is 404. Running time nobody attended is no one's labor and is
left out of the file (the production record shows it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django import forms
from django.http import Http404, HttpResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from mes.errors import ValidationFailed
from mes.exports import csv_writer
from mes.filters import BIGINT_MAX
from mes.forms import refusal
from mes.models import Site
from mes.permissions import permission_required
from mes.selectors import sites_visible_to
from workorders.models import WorkOrder
from workorders.selectors.labor import LaborRow, labor_for_order, labor_for_site

VIEW = "workorders.view_workorder"
MAX_DAYS = 31
COLUMNS = [
    "work_order",
    "operation_sequence",
    "operation",
    "workstation",
    "person",
    "badge",
    "shift",
    "shift_start",
    "seconds",
    "hours",
]


class LaborQueryForm(forms.Form):
    """Either an order (by its number), or a site and the days from and to (site-local, both
    included, at most MAX_DAYS)."""

    work_order = forms.CharField(required=False, max_length=64)
    site = forms.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    start = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    end = forms.DateField(required=False, input_formats=["%Y-%m-%d"])

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data.get("work_order"):
            return data
        if not data.get("site"):
            raise forms.ValidationError(
                {"work_order": _("Give an order number, or a site with start and end days.")}
            )
        for name in ("start", "end"):
            if not data.get(name):
                raise forms.ValidationError({name: _("Give the first and last day (YYYY-MM-DD).")})
        if data["end"] < data["start"]:
            raise forms.ValidationError({"end": _("The last day is before the first.")})
        if (data["end"] - data["start"]).days + 1 > MAX_DAYS:
            raise forms.ValidationError({"end": _("At most %(days)s days at once.") % {"days": MAX_DAYS}})
        return data


@dataclass(frozen=True)
class LaborQuery:
    name: str
    rows: list[LaborRow]


def _local_midnight(site: Site, day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=site.tzinfo)


def labor_query(user, params) -> LaborQuery:
    """The labor rows the query asks for, within the person's sites. Refuses (ValidationFailed)
    what is not a query; Http404 for an order or site the person does not see."""
    form = LaborQueryForm(params)
    if not form.is_valid():
        raise refusal(form)
    data = form.cleaned_data
    visible = sites_visible_to(user)
    if data["work_order"]:
        order = WorkOrder.objects.filter(number=data["work_order"], line__site__in=visible).first()
        if order is None:
            raise Http404(_("No such order in your sites."))
        return LaborQuery(f"labor-{order.number}", labor_for_order(order))
    site = visible.filter(pk=data["site"]).first()
    if site is None:
        raise Http404(_("No such site among yours."))
    start = _local_midnight(site, data["start"])
    end = _local_midnight(site, data["end"] + timedelta(days=1))
    rows = labor_for_site(site, start, end)
    return LaborQuery(f"labor-{site.code}-{data['start']:%Y-%m-%d}-{data['end']:%Y-%m-%d}", rows)


def labor_csv_response(query: LaborQuery) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{query.name}.csv"'
    out = csv_writer(response)
    out.writerow(COLUMNS)
    for row in query.rows:
        if row.user_id is None:
            continue  # the machine ran with nobody signed in: no one's labor
        seconds = round(row.seconds)
        out.writerow(
            [
                row.work_order,
                row.sequence,
                row.operation,
                row.workstation,
                row.person,
                row.badge,
                row.shift,
                row.shift_start.isoformat() if row.shift_start else "",
                seconds,
                f"{seconds / 3600:.4f}",
            ]
        )
    return response


def refused(exc: ValidationFailed) -> HttpResponse:
    return HttpResponse(f"{exc.field}: {exc.message}", status=400, content_type="text/plain; charset=utf-8")


@require_safe
@permission_required(VIEW)
def labor_csv(request):
    try:
        query = labor_query(request.user, request.GET)
    except ValidationFailed as exc:
        return refused(exc)
    return labor_csv_response(query)


urlpatterns = [
    path("labor/export.csv", labor_csv, name="labor_csv"),
]
