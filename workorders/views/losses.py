"""The supervisor's losses page: the six big losses, the OEE loss waterfall and the Pareto of
downtime and scrap reasons for a line or workstation over a shift, day or week, and its CSV.

The query (`LossQueryForm`) and the choice of line or workstation within the person's sites
(`loss_report`) serve the page, the CSV and the JSON API alike, so the three answer the same
input the same way: a value that is not one is refused with 400 naming the field, a line or
workstation the person may not see is 404. The charts are SVG drawn by the template from the
geometry computed here: no script, nothing inline that the Content-Security-Policy forbids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from mes.errors import ValidationFailed
from mes.exports import csv_writer
from mes.filters import BIGINT_MAX
from mes.forms import refusal
from mes.models import Line, Shift, Workstation
from mes.permissions import permission_required
from mes.selectors import sites_visible_to
from workorders.selectors.losses import (
    PERIODS,
    LossReport,
    ParetoRow,
    losses_for_line,
    losses_for_workstation,
    period_window,
)

VIEW = "workorders.view_workorder"


class LossQueryForm(forms.Form):
    """What to show: a line or one of its workstations, the kind of period and a day in it
    (site-local)."""

    line = forms.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    workstation = forms.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    period = forms.ChoiceField(required=False, choices=[(p, p) for p in PERIODS])
    date = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    shift = forms.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)

    def clean(self):
        data = super().clean()
        if data.get("period") == "shift" and not data.get("shift") and "shift" not in self.errors:
            self.add_error("shift", _("Choose a shift for a shift period."))
        return data


@dataclass(frozen=True)
class Query:
    subject: Line | Workstation | None  # None: the person sees no line
    period: str
    day: date | None
    shift: Shift | None
    report: LossReport | None


def loss_report(user, params) -> Query:
    """The losses the query string `params` asks for, within the person's sites.

    Refuses bad input with ValidationFailed naming the field; a line or workstation the person
    does not see (or that does not exist) is Http404. Without a line or workstation: the first
    line the person sees; without a date: today at the line's site.
    """
    form = LossQueryForm(params)
    if not form.is_valid():
        raise refusal(form)
    data = form.cleaned_data
    visible = sites_visible_to(user)
    subject: Line | Workstation | None
    if data.get("workstation"):
        subject = (
            Workstation.objects.filter(pk=data["workstation"], line__site__in=visible)
            .select_related("line__site")
            .first()
        )
        if subject is None:
            raise Http404(_("No such workstation."))
        # The page sends the line with its workstation choice; the API may send either or both.
        if data.get("line") and subject.line_id != data["line"]:
            raise ValidationFailed(_("The workstation is not on this line."), field="workstation")
        site = subject.line.site
    else:
        lines = Line.objects.filter(site__in=visible).select_related("site")
        subject = (
            lines.filter(pk=data["line"]).first()
            if data.get("line")
            else lines.order_by("site__code", "code").first()
        )
        if subject is None:
            if data.get("line"):
                raise Http404(_("No such line."))
            return Query(None, data.get("period") or "day", None, None, None)
        site = subject.site
    period = data.get("period") or "day"
    day = data.get("date") or timezone.now().astimezone(site.tzinfo).date()
    shift = None
    if period == "shift":
        shift = site.shifts.filter(pk=data["shift"]).first()
        if shift is None:
            raise ValidationFailed(_("The shift is not one of this site's shifts."), field="shift")
    try:
        start, end = period_window(site, period, day, shift)
    except (ValueError, OverflowError):  # a date at the calendar's edge
        raise ValidationFailed(_("The date is out of range."), field="date") from None
    if isinstance(subject, Workstation):
        report = losses_for_workstation(subject, start, end)
    else:
        report = losses_for_line(subject, start, end)
    return Query(subject, period, day, shift, report)


# --- Charts -------------------------------------------------------------------------------------

WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 720, 240, 56, 48, 16, 40
STEP_LABELS = {
    "planned": gettext_lazy("Planned time"),
    "availability": gettext_lazy("Availability loss"),
    "performance": gettext_lazy("Performance loss"),
    "quality": gettext_lazy("Quality loss"),
    "good": gettext_lazy("Good time"),
}


def _bar(x: float, width: float, lo: float, hi: float, top: float, css: str, label: str, text: str) -> dict:
    """A bar from value `lo` to `hi` on a scale whose largest value is `top`."""
    plot = HEIGHT - PAD_T - PAD_B
    y_hi = PAD_T + plot * (1 - hi / top) if top else HEIGHT - PAD_B
    y_lo = PAD_T + plot * (1 - lo / top) if top else HEIGHT - PAD_B
    return {
        "x": f"{x:.1f}",
        "y": f"{y_hi:.1f}",
        "w": f"{width:.1f}",
        "h": f"{max(y_lo - y_hi, 0.0):.1f}",
        "cx": f"{x + width / 2:.1f}",
        "ty": f"{y_hi - 4:.1f}",
        "css": css,
        "label": label,
        "text": text,
    }


def waterfall_chart(report: LossReport) -> list[dict]:
    """Bars of the waterfall: planned time, each loss hanging from what is left, good time."""
    top = report.waterfall[0][1]
    slot = (WIDTH - PAD_L - PAD_R) / len(report.waterfall)
    bars, level = [], top
    for i, (step, seconds) in enumerate(report.waterfall):
        if step in ("planned", "good"):
            lo, hi, css = 0.0, seconds, f"bar-{step}"
        else:
            lo, hi, css = level - seconds, level, "bar-loss"
            level -= seconds
        bars.append(
            _bar(
                PAD_L + i * slot + slot * 0.15,
                slot * 0.7,
                lo,
                hi,
                top,
                css,
                STEP_LABELS[step],
                f"{seconds / 60:.0f} min",
            )
        )
    return bars


def pareto_chart(rows: list[ParetoRow], unit: str, *, limit: int = 10) -> dict:
    """Bars of the largest `limit` reasons and the cumulative share as a line over them."""
    rows = rows[:limit]
    if not rows:
        return {"bars": [], "points": ""}
    top = rows[0].value
    slot = (WIDTH - PAD_L - PAD_R) / len(rows)
    plot = HEIGHT - PAD_T - PAD_B
    bars, points = [], []
    for i, row in enumerate(rows):
        value = row.value / 60 if unit == "min" else row.value
        bars.append(
            _bar(
                PAD_L + i * slot + slot * 0.15,
                slot * 0.7,
                0.0,
                row.value,
                top,
                "bar-reason",
                row.code,
                f"{value:.4g} {unit}",
            )
        )
        points.append(f"{PAD_L + (i + 0.5) * slot:.1f},{PAD_T + plot * (1 - row.cumulative):.1f}")
    return {"bars": bars, "points": " ".join(points)}


# --- Views --------------------------------------------------------------------------------------


def _pareto_rows(rows: list[dict], unit: str) -> list[dict]:
    key = "minutes" if unit == "min" else "units"
    return [
        {
            **row,
            "display": row[key],
            "share_pct": round(row["share"] * 100, 1),
            "cumulative_pct": round(row["cumulative"] * 100, 1),
        }
        for row in rows
    ]


def _report_context(report: LossReport) -> dict:
    data = report.as_dict()
    oee = report.oee.oee
    return {
        "report": report,
        "oee_pct": None if oee is None else round(oee * 100, 1),
        "loss_rows": data["losses"],
        "waterfall": waterfall_chart(report),
        "pareto_sections": [
            (
                _("Pareto of downtime reasons"),
                pareto_chart(report.downtime_pareto, "min"),
                _pareto_rows(data["downtime_pareto"], "min"),
                _("Minutes"),
            ),
            (
                _("Pareto of scrap reasons"),
                pareto_chart(report.scrap_pareto, "units"),
                _pareto_rows(data["scrap_pareto"], "units"),
                _("Units"),
            ),
        ],
    }


@require_safe
@permission_required(VIEW)
def losses(request):
    visible = sites_visible_to(request.user)
    context = {
        "periods": PERIODS,
        "values": request.GET,
        "width": WIDTH,
        "height": HEIGHT,
        "base": HEIGHT - PAD_B,
        "label_y": HEIGHT - PAD_B + 18,
        "lines": Line.objects.filter(site__in=visible).select_related("site").order_by("site__code", "code"),
        "shifts": Shift.objects.filter(site__in=visible).select_related("site"),
    }
    try:
        query = loss_report(request.user, request.GET)
    except ValidationFailed as exc:
        return render(request, "workorders/losses.html", {**context, "error": exc}, status=400)
    context["query"] = query
    line = query.subject.line if isinstance(query.subject, Workstation) else query.subject
    if line is not None:
        context["workstations"] = line.workstations.filter(active=True).order_by("code")
        context["line"] = line
    if query.report is not None:
        context |= _report_context(query.report)
    return render(request, "workorders/losses.html", context)


@require_safe
@permission_required(VIEW)
def losses_csv(request):
    try:
        query = loss_report(request.user, request.GET)
    except ValidationFailed as exc:
        return HttpResponse(
            f"{exc.field}: {exc.message}", status=400, content_type="text/plain; charset=utf-8"
        )
    if query.report is None:
        raise Http404(_("You see no line."))
    report = query.report
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"losses-{query.subject.code}-{query.period}-{query.day:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    out = csv_writer(response)
    out.writerow(["section", "item", "name", "minutes", "units", "share", "cumulative"])
    data = report.as_dict()
    for step in data["waterfall"]:
        out.writerow(["waterfall", step["step"], STEP_LABELS[step["step"]], step["minutes"], "", "", ""])
    for row in data["losses"]:
        out.writerow(["loss", row["loss"], row["label"], row["minutes"], "", "", ""])
    for row in data["downtime_pareto"]:
        out.writerow(
            ["downtime", row["code"], row["name"], row["minutes"], "", row["share"], row["cumulative"]]
        )
    for row in data["scrap_pareto"]:
        out.writerow(["scrap", row["code"], row["name"], "", row["units"], row["share"], row["cumulative"]])
    return response


urlpatterns = [
    path("losses/", losses, name="losses"),
    path("losses/export.csv", losses_csv, name="losses_csv"),
]
