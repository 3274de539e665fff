"""The trace page: find a serial, lot or order; see its genealogy backward and forward as a
collapsible tree with each node's production context, and the recall list of a forward trace."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

from mes.errors import MesError, ValidationFailed
from mes.models import Site
from mes.permissions import permission_required
from traceability import selectors
from traceability.models import ReportKind
from traceability.reports.registry import build_trace

VIEW_LOT = "workorders.view_lot"
FORMATS = ("pdf", "csv", "json", "epcis")
# A page stays readable: past these sizes the tree is cut (and the context left out), and the
# exports carry the whole trace.
CONTEXT_LIMIT = 500
TREE_LIMIT = 2_000
# A trace answered within the request (the trace API, the page's CSV and JSON links) holds at most this
# many lots; a bigger one, such as a bulk raw lot that reached the whole plant, is a report job,
# built in the background with its progress shown, instead of one request working for minutes.
INLINE_TRACE_LIMIT = 20_000


def check_inline_size(trace: selectors.Trace) -> None:
    """Refuse (400, field `code`) a trace too big to answer within one request."""
    if len(trace.nodes) > INLINE_TRACE_LIMIT:
        raise ValidationFailed(
            gettext(
                "This trace holds %(count)s lots, more than the %(limit)s answered at once: "
                "ask for it as a report, which is built in the background."
            )
            % {"count": len(trace.nodes), "limit": INLINE_TRACE_LIMIT},
            field="code",
            code="trace_too_large",
        )


def tree_items(trace: selectors.Trace, limit: int | None = None) -> list[dict]:
    """The trace depth first as a flat list for the template: each node opens a <details> and a
    {"close": True} item closes it after its subtree. A lot reached again is not expanded twice."""
    limit = limit or TREE_LIMIT
    items: list[dict] = []
    expanded: set[int] = set()
    context = trace.context
    stack: list = [(trace.root, 0)]
    while stack:
        entry = stack.pop()
        if entry == "close":
            items.append({"close": True})
            continue
        node, level = entry
        again = node.id in expanded
        items.append(
            {
                "node": node,
                "level": level,
                "again": again,
                "ctx": context.for_node(node) if context is not None and not again else None,
                "has_next": bool(node.next_ids),
            }
        )
        stack.append("close")
        if len(items) >= limit and items[-1]["has_next"]:
            items[-1]["cut"] = True
            continue
        if not again:
            expanded.add(node.id)
            for nxt in reversed(trace.next_of(node)):
                stack.append((nxt, level + 1))
    return items


@permission_required(VIEW_LOT)
def trace_page(request):
    query = (request.GET.get("q") or "").strip()
    direction = request.GET.get("direction") or "both"
    # A trace crosses sites: each time is shown in its lot's site zone, and says which (CET, ...).
    site_zones = dict(Site.objects.values_list("code", "time_zone"))
    context: dict = {"query": query, "direction": direction, "kinds": ReportKind, "site_zones": site_zones}
    status = 200
    if query:
        try:
            lookup = selectors.trace_lookup(user=request.user, query=query)
            context["lookup"] = lookup
            chosen = request.GET.get("lot")
            lots = [lot for lot in lookup.lots if lot.code == chosen] if chosen else lookup.lots
            if len(lots) == 1:
                lot = lots[0]
                context["lot"] = lot
                context["shipments"] = list(selectors.lot_shipments(lot))
                directions = ("backward", "forward") if direction == "both" else (direction,)
                for d in directions:
                    if d not in selectors.DIRECTIONS:
                        continue
                    trace = selectors.trace(lot, d, user=request.user)
                    if len(trace.nodes) <= CONTEXT_LIMIT:
                        trace.context = selectors.trace_context(trace)
                    items = tree_items(trace)
                    cut = any(item.get("cut") for item in items)
                    context[d] = {"trace": trace, "items": items, "cut": cut, "big": trace.context is None}
        except MesError as exc:
            context["error"] = exc.message
            status = exc.status_code
    template = "traceability/trace.html#results" if request.htmx else "traceability/trace.html"
    return render(request, template, context, status=status)


@permission_required(VIEW_LOT)
def trace_export(request, code: str, fmt: str):
    """A trace export streamed straight back (fine for ordinary traces; big ones go through a
    report job with a progress bar)."""
    if fmt not in FORMATS:
        return HttpResponse(
            gettext("Unknown format '%(format)s': pdf, csv, json or epcis.") % {"format": fmt},
            status=404,
            content_type="text/plain",
        )
    direction = request.GET.get("direction") or "backward"
    try:
        if direction in selectors.DIRECTIONS:  # the size first: one walk, no context
            lot = selectors.lot_for_trace(user=request.user, code=code)
            check_inline_size(selectors.trace(lot, direction))
        built = build_trace(code=code, direction=direction, fmt=fmt, user=request.user)
    except MesError as exc:
        return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain")
    response = HttpResponse(built.content, content_type=built.content_type)
    response["Content-Disposition"] = f'attachment; filename="{built.filename}"'
    response["X-Content-SHA256"] = built.content_hash
    return response
