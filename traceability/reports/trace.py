"""The trace report of a serial or lot: PDF, CSV and JSON of the same data.

The data is `selectors.trace_data` of the trace with its context; its content hash is the
SHA-256 of that data's canonical JSON (sorted keys, no spaces, UTF-8), printed in the PDF, put in
the JSON and recorded with a report job, so an auditor can check a copy against a fresh export.
Who generated a report and when are printed beside the hash but are not part of it: the same
genealogy gives the same hash whoever exports it.

The three formats stay in one module on purpose: they render one `TraceDocument`, and keeping
them side by side is what keeps a CSV row, a JSON node and a PDF line saying the same thing.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from itertools import chain, islice

from django.utils import formats, timezone
from django.utils.translation import gettext, override
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, KeepTogether, SimpleDocTemplate, Spacer

from mes.exports import csv_writer
from mes.pdf_text import rtl, visual
from traceability import selectors
from traceability.reports.base import (
    MARGIN,
    PAGE,
    WIDTH,
    Built,
    Progress,
    StreamedStory,
    Visual,
    clip,
    fmt_time,
    key_values,
    no_progress,
    numbered_canvas,
    para,
    tables,
)
from traceability.selectors import BACKWARD, FORWARD, Trace
from workorders.models import Lot


@dataclass
class TraceDocument:
    trace: Trace
    content_hash: str
    generated_by: str
    generated_at: datetime

    @property
    def root(self):
        return self.trace.root

    @property
    def stem(self) -> str:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.root.code)
        return f"trace-{safe}-{self.trace.direction}"

    @cached_property
    def data(self) -> dict:
        """The trace as data (`selectors.trace_data`), made when a format needs all of it at once
        (JSON, CSV). The PDF reads it one node at a time instead (`nodes_data`), so a big report
        never holds the whole of it."""
        with override(None):  # the data's words in the source language: its hash is everyone's
            return selectors.trace_data(self.trace)

    def nodes_data(self) -> Iterator[dict]:
        """The data's nodes one at a time, as `data["nodes"]` has them (made a few at a time)."""
        nodes = selectors.nodes_data(self.trace)
        while True:
            with override(None):  # made in the source language, as `data` is (not while yielding)
                chunk = list(islice(nodes, 64))
            if not chunk:
                return
            yield from chunk


def trace_document(*, lot: Lot, direction: str, user, progress: Progress = no_progress) -> TraceDocument:
    """Trace `lot` with the context of every node, as `user` sees it. Its content hash is made
    from the data piece by piece (`selectors.trace_content_hash`), which is not kept."""
    trace = selectors.trace(lot, direction, user=user)
    progress(10)
    with override(None):  # the data's words in the source language: its hash is everyone's
        trace.context = selectors.trace_context(trace)
        progress(30)
        content_hash = selectors.trace_content_hash(trace)
    return TraceDocument(
        trace=trace,
        content_hash=content_hash,
        generated_by=user.printed_name if user is not None else "system",
        generated_at=timezone.now().astimezone(UTC),
    )


# --- JSON ------------------------------------------------------------------------------------------


def build_json(doc: TraceDocument, progress: Progress = no_progress) -> Built:
    body = {
        "report": "trace",
        "generated_by": doc.generated_by,
        "generated_at": doc.generated_at.isoformat(),
        "content_hash": doc.content_hash,
        "hash_algorithm": "sha256 of the canonical JSON of 'trace' (sorted keys, no spaces, UTF-8)",
        "trace": doc.data,
    }
    progress(100)
    return Built(
        content=json.dumps(body, indent=1, ensure_ascii=False).encode(),
        filename=f"{doc.stem}.json",
        content_type="application/json",
        content_hash=doc.content_hash,
    )


# --- CSV -------------------------------------------------------------------------------------------

CSV_COLUMNS = [
    "record", "lot", "depth", "product", "kind", "status", "work_order", "operation", "workstation",
    "person", "at", "value", "spec", "note",
]  # fmt: skip


def csv_rows(data: dict):
    """One row per record of the trace: each lot, link, operation (per operator), measurement,
    nonconformance, hold and signature, keyed by the lot it belongs to."""

    def sig_rows(lot, depth, items, what):
        for s in items:
            yield ["signature", lot, depth, "", "", "intact" if s["intact"] else "BROKEN", "", "", "",
                   s["printed_name"], s["signed_at"], s["meaning"], "", what]  # fmt: skip

    for node in data["nodes"]:
        lot, depth = node["lot"], node["depth"]
        if not node["visible"]:
            yield [
                "lot",
                lot,
                depth,
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                f"on site {node['site']}, not visible",
            ]
            continue
        hold = "on hold" if node["on_hold"] else ""
        yield ["lot", lot, depth, node["product"], node["kind"], node["status"], node["work_order"] or "",
               "", "", node.get("made_by", ""), node["produced_at"], f"{node['quantity']} {node['unit']}", "",
               "; ".join(x for x in (hold, node["supplier"], node["supplier_lot"]) if x)]  # fmt: skip
        order = node.get("order")
        if order:
            for op in order["operations"]:
                for w in op["operators"] or [{"name": "", "first_at": None, "last_at": None, "good": None,
                                              "scrap": None}]:  # fmt: skip
                    yield ["operation", lot, depth, node["product"], "", op["status"], order["number"],
                           f"{op['sequence']} {op['name']}", op["workstation"], w["name"], w["first_at"],
                           f"good {w['good'] or 0} scrap {w['scrap'] or 0}", "", f"until {w['last_at'] or ''}"]  # fmt: skip
            for run in order["checklist_runs"]:
                for m in run["responses"]:
                    spec = f"{m['lsl'] or ''}..{m['usl'] or ''}" if m["lsl"] or m["usl"] else ""
                    in_spec = {True: "in spec", False: "OUT OF SPEC", None: ""}[m["in_spec"]]
                    yield ["measurement", lot, depth, node["product"], run["template"], run["status"],
                           order["number"], run["operation"] or "", run["workstation"], m["recorded_by"],
                           m["recorded_at"], m["value"], spec, f"{m['prompt']} {in_spec}".strip()]  # fmt: skip
                yield from sig_rows(lot, depth, run["signatures"], f"checklist {run['template']}")
            for nc in order["nonconformances"]:
                yield ["nonconformance", lot, depth, node["product"], "", nc["status"], order["number"],
                       "", "", "", nc["opened_at"], nc["number"], "", nc["title"]]  # fmt: skip
                yield from sig_rows(lot, depth, nc["signatures"], f"nonconformance {nc['number']}")
            for h in order["holds"]:
                yield ["hold", lot, depth, node["product"], "order", h["status"], order["number"], "", "",
                       h["placed_by"], h["placed_at"], "", "", h["reason"]]  # fmt: skip
            yield from sig_rows(lot, depth, order["signatures"], f"order {order['number']}")
        for nc in node.get("nonconformances", []):
            if not order or nc not in order["nonconformances"]:
                yield ["nonconformance", lot, depth, node["product"], "", nc["status"], "", "", "", "",
                       nc["opened_at"], nc["number"], "", nc["title"]]  # fmt: skip
        for h in node.get("holds", []):
            yield ["hold", lot, depth, node["product"], "lot", h["status"], "", "", "", h["placed_by"],
                   h["placed_at"], "", "", h["reason"]]  # fmt: skip
        yield from sig_rows(lot, depth, node.get("signatures", []), f"lot {lot}")
    for link in data["links"]:
        yield ["link", link["child"], "", "", "", "", "", "", "", "", "", link["quantity"], "",
               f"from {link['parent']} (event {link['event']})"]  # fmt: skip
    for unit in data.get("affected", []):
        yield ["affected", unit["lot"], "", unit["product"], unit["kind"], unit["status"], "", "", "", "", "",
               "finished" if unit["finished"] else "not finished", "", "on hold" if unit["on_hold"] else ""]  # fmt: skip


def build_csv(doc: TraceDocument, progress: Progress = no_progress) -> Built:
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(doc.data))
    progress(100)
    return Built(
        content=out.getvalue().encode("utf-8"),
        filename=f"{doc.stem}.csv",
        content_type="text/csv",
        content_hash=doc.content_hash,
    )


# --- PDF -------------------------------------------------------------------------------------------


_TREE_WIDTHS = [8, 52, 10, 40, 20, 22, 14, 26]


def _tree_rows(trace: Trace) -> Iterator[list]:
    """The genealogy as an indented table, depth first from the traced lot, a row at a time as
    the tables take them. A lot reached again on another path is listed again but not expanded
    twice."""
    expanded: set[int] = set()
    stack = [(trace.root, 0)]
    mirrored = rtl()
    label_width = WIDTH * _TREE_WIDTHS[1] / sum(_TREE_WIDTHS)
    while stack:
        node, level = stack.pop()
        again = node.id in expanded
        label = (
            ("    " * level)
            + (("┘ " if mirrored else "└ ") if level else "")
            + node.code
            + ("  " + gettext("(see above)") if again else "")
        )
        if mirrored:  # indented from the right: laid out here, as a right-to-left line
            label = Visual(visual(clip(label, label_width), right_to_left=True))
        if node.visible:
            yield [str(level), label, node.kind, f"{node.part_number} {node.product_name}",
                   node.work_order_number, node.status + (" · " + gettext("ON HOLD") if node.on_hold else ""),
                   f"{_number(selectors.quantity_text(node.quantity))} {node.unit}", fmt_time(node.produced_at)]  # fmt: skip
        else:
            yield [
                str(level),
                label,
                "",
                gettext("(site %(site)s: not visible)") % {"site": node.site_code},
                "",
                "",
                "",
                "",
            ]
        if again:
            continue
        expanded.add(node.id)
        for nxt in reversed(trace.next_of(node)):
            stack.append((nxt, level + 1))


def _sig_text(items: list[dict]) -> list:
    return [para(gettext("Signed: %(text)s") % {"text": s["text"]}, "small") for s in items]


def _order_flowables(order: dict) -> list:
    out: list = [
        para(
            gettext(
                "Order %(number)s · line %(line)s · %(status)s · quantity %(quantity)s"
                " · started %(started)s · completed %(completed)s"
            )
            % {
                "number": order["number"],
                "line": order["line"],
                "status": order["status"],
                "quantity": _number(order["quantity"]),
                "started": fmt_time(order["started_at"]),
                "completed": fmt_time(order["completed_at"]),
            },
            "body",
        )
    ]
    ops = [
        [
            op["sequence"],
            op["name"],
            op["workstation"],
            w["name"],
            fmt_time(w["first_at"]),
            fmt_time(w["last_at"]),
            _number(w["good"]),
            _number(w["scrap"]),
        ]
        for op in order["operations"]
        for w in (
            op["operators"] or [{"name": "", "first_at": None, "last_at": None, "good": "", "scrap": ""}]
        )
    ]
    if ops:
        out += tables([gettext("Seq"), gettext("Operation"), gettext("Workstation"), gettext("Operator"), gettext("From"), gettext("To"), gettext("Good"), gettext("Scrap")], ops,
                      [8, 30, 18, 30, 28, 28, 10, 10])  # fmt: skip
    measurements = []
    for run in order["checklist_runs"]:
        for m in run["responses"]:
            spec = f"{_number(m['lsl'] or '')} … {_number(m['usl'] or '')}" if m["lsl"] or m["usl"] else ""
            measurements.append([f"{run['template']} v{run['version']}", run["operation"] or "", m["prompt"],
                                 _number(m["value"]), spec, {True: gettext("yes"), False: gettext("NO"), None: ""}[m["in_spec"]],
                                 m["recorded_by"], fmt_time(m["recorded_at"])])  # fmt: skip
    if measurements:
        out.append(Spacer(1, 2 * mm))
        out += tables([gettext("Checklist"), gettext("Op"), gettext("Item"), gettext("Value"), gettext("Spec"), gettext("In spec"), gettext("By"), gettext("At")], measurements,
                      [22, 6, 40, 18, 18, 8, 24, 26])  # fmt: skip
    for run in order["checklist_runs"]:
        if run["signatures"]:
            out += [
                para(
                    gettext("Checklist %(template)s v%(version)s:")
                    % {"template": run["template"], "version": run["version"]},
                    "small",
                ),
                *_sig_text(run["signatures"]),
            ]
    out += _nc_hold_flowables(order["nonconformances"], order["holds"])
    out += _sig_text(order["signatures"])
    return out


def _nc_hold_flowables(ncs: list[dict], holds: list[dict]) -> list:
    out: list = []
    if ncs:
        out.append(Spacer(1, 2 * mm))
        out += tables([gettext("Nonconformance"), gettext("Title"), gettext("Status"), gettext("Disposition"), gettext("Opened")],
                      [[n["number"], n["title"], n["status"], n["disposition"], fmt_time(n["opened_at"])]
                       for n in ncs], [20, 60, 16, 20, 28])  # fmt: skip
        for n in ncs:
            if n["signatures"]:
                out += [
                    para(gettext("Nonconformance %(number)s:") % {"number": n["number"]}, "small"),
                    *_sig_text(n["signatures"]),
                ]
    if holds:
        out.append(Spacer(1, 2 * mm))
        out += tables([gettext("Hold"), gettext("Status"), gettext("Reason"), gettext("Placed by"), gettext("Placed"), gettext("Released")],
                      [[h["lot"] or h["target"], h["status"], h["reason"], h["placed_by"],
                        fmt_time(h["placed_at"]), fmt_time(h["released_at"])] for h in holds],
                      [18, 12, 50, 24, 28, 28])  # fmt: skip
        for h in holds:
            if h["signatures"]:
                out += [
                    para(gettext("Hold (%(reason)s):") % {"reason": h["reason"][:40]}, "small"),
                    *_sig_text(h["signatures"]),
                ]
    return out


def _title(trace: Trace) -> str:
    code = trace.root.code
    if trace.root.kind == "serial":
        if trace.direction == BACKWARD:
            return gettext("Backward trace of serial %(code)s") % {"code": code}
        return gettext("Forward trace of serial %(code)s") % {"code": code}
    if trace.direction == BACKWARD:
        return gettext("Backward trace of lot %(code)s") % {"code": code}
    return gettext("Forward trace of lot %(code)s") % {"code": code}


def _number(text):
    """A quantity or measured value of the data (text like "12.5") as the active language writes
    it ("12,5"); any other text as it is."""
    try:
        return formats.number_format(Decimal(str(text))) if text not in (None, "") else text
    except (InvalidOperation, ValueError):
        return text


def _story(doc: TraceDocument, progress: Progress):
    """The report's flowables, made as the page layout reaches them (see `StreamedStory`)."""
    trace = doc.trace
    title = _title(trace)
    yield from [
        para(title, "title"),
        key_values(
            [
                (gettext("Serial / lot"), f"{trace.root.code} ({trace.root.kind})"),
                (gettext("Product"), f"{trace.root.part_number} {trace.root.product_name}"),
                (gettext("Site"), trace.root.site_code),
                (
                    gettext("Direction"),
                    gettext("backward: everything that went into it")
                    if trace.direction == BACKWARD
                    else gettext("forward: everything it went into"),
                ),
                (
                    gettext("Records"),
                    gettext("%(nodes)s lots and serials, %(edges)s links, %(depth)s levels")
                    % {"nodes": len(trace.nodes), "edges": len(trace.edge_rows), "depth": trace.max_depth},
                ),
                (gettext("Generated by"), doc.generated_by),
                (gettext("Generated at"), fmt_time(doc.generated_at)),
                (gettext("Content hash"), f"sha256 {doc.content_hash}"),
            ]
        ),
        para(
            gettext(
                "The content hash is the SHA-256 of the canonical JSON of this trace's data (the JSON export's "
                "'trace'); a fresh export of unchanged records gives the same hash."
            ),
            "small",
        ),
        para(gettext("Genealogy"), "h2"),
    ]
    yield from tables([gettext("Level"), gettext("Lot / serial"), gettext("Kind"), gettext("Product"), gettext("Order"), gettext("Status"), gettext("Quantity"), gettext("Produced")],
                      _tree_rows(trace), _TREE_WIDTHS)  # fmt: skip
    progress(45)
    if trace.direction == FORWARD:
        yield from [CondPageBreak(30 * mm), para(gettext("Affected units (recall list)"), "h2")]
        units = selectors.affected_data(trace)  # made as the tables take them
        first = next(units, None)
        if first is not None:
            affected = chain([first], units)
            yield from tables([gettext("Serial / lot"), gettext("Kind"), gettext("Product"), gettext("Status"), gettext("On hold"), gettext("Finished good"), gettext("Site")],
                              ([a["lot"], a["kind"], a["product"], a["status"], gettext("ON HOLD") if a["on_hold"] else "",
                                gettext("yes") if a["finished"] else gettext("no"), a["site"]] for a in affected),
                              [30, 12, 30, 16, 12, 12, 14])  # fmt: skip
        else:
            yield para(gettext("Nothing has been made from this lot yet."))
    yield from [CondPageBreak(30 * mm), para(gettext("Production context"), "h2")]
    shown_orders: set[str] = set()
    count = len(trace.nodes)
    for index, node in enumerate(doc.nodes_data()):
        if not node["visible"]:
            continue
        block: list = [
            para(
                gettext("%(lot)s · %(product)s %(name)s · level %(depth)s")
                % {
                    "lot": node["lot"],
                    "product": node["product"],
                    "name": node["product_name"],
                    "depth": node["depth"],
                },
                "h3",
            )
        ]
        if node["supplier"] or node["supplier_lot"]:
            block.append(para(gettext("Received from %(supplier)s as lot %(supplier_lot)s on %(at)s")
                              % {"supplier": node["supplier"], "supplier_lot": node["supplier_lot"],
                                 "at": fmt_time(node["produced_at"])}))  # fmt: skip
        elif node.get("made_by"):
            block.append(
                para(
                    gettext("Made by %(by)s at %(at)s")
                    % {"by": node["made_by"], "at": fmt_time(node["made_at"])}
                )
            )
        order = node.get("order")
        if order and order["number"] in shown_orders:
            block.append(
                para(gettext("Order %(number)s: see its context above.") % {"number": order["number"]})
            )
        elif order:
            shown_orders.add(order["number"])
            block += _order_flowables(order)
        lot_ncs = [
            nc for nc in node.get("nonconformances", []) if not order or nc not in order["nonconformances"]
        ]
        block += _nc_hold_flowables(lot_ncs, node.get("holds", []))
        block += _sig_text(node.get("signatures", []))
        if len(block) <= 4:
            yield KeepTogether(block)
        else:
            yield from block
        if index % 50 == 0:
            progress(45 + int(40 * index / max(count, 1)))


def build_pdf(doc: TraceDocument, progress: Progress = no_progress) -> Built:
    title = _title(doc.trace)
    out = io.BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=14 * mm,
        title=title,
        author=doc.generated_by,
        subject=f"sha256 {doc.content_hash}",
        creator=gettext("Shop-floor MES"),
    )
    footer = gettext("%(title)s · generated %(at)s by %(by)s · sha256 %(hash)s…") % {
        "title": title,
        "at": fmt_time(doc.generated_at),
        "by": doc.generated_by,
        "hash": doc.content_hash[:16],
    }
    template.build(StreamedStory(_story(doc, progress)), canvasmaker=numbered_canvas(footer))
    progress(100)
    return Built(
        content=out.getvalue(),
        filename=f"{doc.stem}.pdf",
        content_type="application/pdf",
        content_hash=doc.content_hash,
    )
