"""SPC charts drawn on the server as inline SVG: no script, no CDN, prints as it shows."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from quality.selectors import SpcChart

WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 720, 220, 56, 70, 12, 24


def _scale(lo: float, hi: float, top: float, bottom: float):
    span = (hi - lo) or 1.0
    return lambda v: bottom - (v - lo) / span * (bottom - top)


def _line(y: float, label: str, css: str, value: float) -> SafeString:
    return format_html(
        '<line class="{}" x1="{}" x2="{}" y1="{}" y2="{}"/><text class="lbl {}" x="{}" y="{}">{} {}</text>',
        css,
        PAD_L,
        WIDTH - PAD_R,
        f"{y:.1f}",
        f"{y:.1f}",
        css,
        WIDTH - PAD_R + 4,
        f"{y + 4:.1f}",
        label,
        f"{value:.4g}",
    )


def _panel(
    values: list[float | None],
    lines: list[tuple[str, str, float]],
    flags: list[list[int]],
    height: int,
    title: str,
) -> SafeString:
    present = [v for v in values if v is not None]
    bounds = present + [value for _label, _css, value in lines]
    if not bounds:
        return mark_safe("")
    lo, hi = min(bounds), max(bounds)
    margin = (hi - lo) * 0.08 or 1.0
    y = _scale(lo - margin, hi + margin, PAD_T, height - PAD_B)
    n = max(1, len(values) - 1)
    x = lambda i: PAD_L + i * (WIDTH - PAD_L - PAD_R) / n  # noqa: E731
    pts = [(x(i), y(v)) for i, v in enumerate(values) if v is not None]
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
    dots = format_html_join(
        "",
        '<circle class="{}" cx="{}" cy="{}" r="{}"><title>#{}: {}{}</title></circle>',
        (
            (
                "pt flagged" if flags[i] else "pt",
                f"{x(i):.1f}",
                f"{y(v):.1f}",
                5 if flags[i] else 3,
                i + 1,
                f"{v:.6g}",
                (_(" — rule %(rules)s") % {"rules": ", ".join(map(str, flags[i]))}) if flags[i] else "",
            )
            for i, v in enumerate(values)
            if v is not None
        ),
    )
    guides = mark_safe("".join(_line(y(v), label, css, v) for label, css, v in lines))
    return format_html(
        '<svg class="spc" viewBox="0 0 {} {}" role="img" aria-label="{}"><text class="ttl" x="4" y="14">{}</text>'
        '{}<polyline class="series" points="{}"/>{}</svg>',
        WIDTH,
        height,
        title,
        title,
        guides,
        path,
        dots,
    )


def spc_svg(chart: SpcChart) -> SafeString:
    """The individuals chart over the moving-range chart, with limits, spec limits and flags."""
    if len(chart.points) < 2 or chart.centre is None:
        return format_html(
            '<p class="small">{}</p>',
            _("Not enough values for a chart yet (%(count)s so far).") % {"count": len(chart.points)},
        )
    values = [p.value for p in chart.points]
    lines = [(_("UCL"), "ucl", chart.ucl), (_("CL"), "cl", chart.centre), (_("LCL"), "lcl", chart.lcl)]
    lines += [
        (label, "spec", v) for label, v in ((_("USL"), chart.usl), (_("LSL"), chart.lsl)) if v is not None
    ]
    flags = [p.rules for p in chart.points]
    unit = chart.item.unit
    individuals = _panel(
        values,
        lines,
        flags,
        HEIGHT,
        _("Individuals (%(unit)s)") % {"unit": unit} if unit else _("Individuals"),
    )
    ranges = [p.moving_range for p in chart.points]
    mr_lines = [(_("UCL"), "ucl", chart.mr_ucl), ("MR̄", "cl", chart.mr_bar)]
    moving = _panel(ranges, mr_lines, [[] for _range in ranges], 150, _("Moving range"))
    return format_html('<div class="spc-chart">{}{}</div>', individuals, moving)
