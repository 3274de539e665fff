"""The production record as a PDF: paged, each page with the order, page x of y and the record's
hash; the status and the exceptions first (with the reviewer's comments), then the full record.
Laid out with the reports' one PDF base (page-sized tables with fixed column widths)."""

from __future__ import annotations

import io

from django.utils import formats
from django.utils.translation import gettext
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate

from traceability.record import labor
from traceability.record.review import RecordView
from traceability.reports.base import MARGIN, PAGE, fmt_time, key_values, numbered_canvas, para, tables


def _num(value) -> str:
    return (
        "" if value is None else formats.number_format(value.normalize())
    )  # as the active language writes it


def record_pdf(view: RecordView) -> bytes:
    c = view.record.content
    order = c["order"]
    story: list = [
        para(gettext("Production record — order %(number)s") % {"number": order["number"]}, "title")
    ]
    seal = {
        None: gettext("not sealed"),
        True: gettext("intact"),
        False: gettext("BROKEN: the record changed after it was decided"),
    }
    story.append(
        key_values(
            [
                (gettext("Product"), f"{order['product']['part_number']} {order['product']['name']}"),
                (gettext("Quantity"), gettext("%(ordered)s ordered, %(good)s good, %(scrap)s scrap %(unit)s") % {
                    "ordered": _num(order["quantity"]), "good": _num(order["quantity_good"]),
                    "scrap": _num(order["quantity_scrap"]), "unit": order["product"]["unit"]}),
                (gettext("Site / line"), f"{order['site']} / {order['line']}"),
                (gettext("Routing"), gettext("%(code)s revision %(revision)s") % {
                    "code": order["routing"]["code"], "revision": order["routing"]["revision"] or "—"}),
                (gettext("BOM"), ", ".join(f"{b['component']} x {_num(b['quantity'])}" for b in order["bom"]) or "—"),
                (gettext("Released / started / completed"), " / ".join(
                    fmt_time(order[k]) or "—" for k in ("released_at", "started_at", "completed_at"))),
                (gettext("Review"), gettext("%(status)s; seal %(seal)s") % {
                    "status": view.status_label, "seal": seal[view.seal_intact]}),
                (gettext("Signatures"), "; ".join(str(s) for s in view.signatures) or gettext("none")),
                (gettext("Record hash (SHA-256)"), view.content_hash),
            ]
        )
    )  # fmt: skip
    story.append(para(gettext("Exceptions — %(summary)s") % {"summary": view.summary}, "h2"))
    if view.exceptions:
        rows = [
            [e.kind_label, para(e.title, "small"), para(e.detail, "small"),
             para(" | ".join(f"{x.author.printed_name}: {x.text}" for x in comments) or "—", "small")]
            for e, comments in view.exception_rows()
        ]  # fmt: skip
        story += tables(
            [gettext("Kind"), gettext("What"), gettext("Detail"), gettext("Reviewer's comments")],
            rows,
            [18, 35, 40, 40],
        )
    story.append(para(gettext("Operations"), "h2"))
    story += tables(
        [gettext("Seq"), gettext("Operation"), gettext("Workstation"), gettext("Started"), gettext("Last event"), gettext("Good"), gettext("Scrap"), gettext("People")],
        [
            [op["sequence"], op["name"], op["workstation"], fmt_time(op["started_at"]),
             fmt_time(op["last_event_at"]), _num(op["quantity_good"]), _num(op["quantity_scrap"]),
             ", ".join(op["people"])]
            for op in c["operations"]
        ],
        [6, 22, 14, 20, 20, 8, 8, 30],
    )  # fmt: skip
    story += labor.pdf_section(c)
    story.append(para(gettext("Production events"), "h2"))
    story += tables(
        ["#", gettext("Kind"), gettext("Workstation"), gettext("Made"), gettext("Recorded"), gettext("By"), gettext("Qty"), gettext("Reason / note")],
        [
            [e["id"], e["kind"], e["workstation"], fmt_time(e["occurred_at"]), fmt_time(e["recorded_at"]),
             e["by"], _num(e["quantity"]), " ".join(x for x in (e["reason"], e["note"]) if x)]
            for e in c["events"]
        ],
        [7, 12, 12, 20, 20, 16, 8, 25],
    )  # fmt: skip
    story.append(para(gettext("Materials consumed"), "h2"))
    story += tables(
        [gettext("Lot"), gettext("Part"), gettext("Quantity"), gettext("Operation"), gettext("By"), gettext("When")],
        [[m["lot"], m["part_number"], f"{_num(m['quantity'])} {m['unit']}", m["operation"], m["by"],
          fmt_time(m["at"])] for m in c["materials"]],
        [20, 20, 12, 10, 18, 20],
    )  # fmt: skip
    story.append(para(gettext("Checklist values"), "h2"))
    story += tables(
        [gettext("Run"), gettext("Checklist"), gettext("Item"), gettext("Value"), "LSL", "USL", gettext("In spec"), gettext("By"), gettext("When")],
        [
            [run["id"], f"{run['template']} v{run['version']}", r["item"], r["value"], _num(r["lsl"]),
             _num(r["usl"]), {True: gettext("yes"), False: gettext("NO"), None: ""}[r["in_spec"]], r["by"], fmt_time(r["at"])]
            for run in c["checklist_runs"]
            for r in run["responses"]
        ],
        [6, 16, 20, 12, 8, 8, 7, 15, 20],
    )  # fmt: skip
    story.append(para(gettext("SOPs in force"), "h2"))
    story += tables(
        [gettext("Operation"), gettext("SOP"), gettext("Version"), gettext("Acknowledged by"), gettext("Not acknowledged by")],
        [[s["operation"], f"{s['document']} {s['title']}", s["version"] or "—",
          ", ".join(a["by"] for a in s["acknowledged"]), ", ".join(s["not_acknowledged_by"])] for s in c["sops"]],
        [10, 30, 8, 30, 30],
    )  # fmt: skip
    story.append(para(gettext("Nonconformances, holds, downtime, lots made"), "h2"))
    story += tables(
        [gettext("Record"), gettext("What"), gettext("Status"), gettext("Detail")],
        [[nc["number"], nc["title"], nc["status"], f"{nc['disposition']} {nc['disposition_note']}".strip()]
         for nc in c["nonconformances"]]
        + [[gettext("Hold %(id)s") % {"id": h["id"]}, h["target"], h["status"], h["reason"]] for h in c["holds"]]
        + [[gettext("Downtime %(id)s") % {"id": d["id"]}, f"{d['workstation']} {d['reason']}", fmt_time(d["started_at"]),
            gettext("%(minutes)s min") % {"minutes": d["minutes"]} if d["minutes"] is not None else gettext("open")]
           for d in c["downtime"]]
        + [[lot["code"], lot["kind"], view.record.lot_status.get(lot["code"], ""), _num(lot["quantity"])]
           for lot in c["lots"]],
        [15, 35, 20, 40],
    )  # fmt: skip
    story.append(para(gettext("Signatures on the record's parts"), "h2"))
    story += tables(
        [gettext("Record"), gettext("Meaning"), gettext("Signed by"), gettext("When"), gettext("Hash")],
        [[f"{s['record']} {s['record_id']}", s["meaning"], s["printed_name"], fmt_time(s["signed_at"]),
          s["content_hash"][:16]] for s in c["signatures"]],
        [25, 12, 20, 20, 20],
    )  # fmt: skip
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=14 * mm,
        title=gettext("Production record %(number)s") % {"number": order["number"]},
    )  # fmt: skip
    footer = gettext("Order %(number)s · record SHA-256 %(hash)s") % {
        "number": order["number"],
        "hash": view.content_hash,
    }
    doc.build(story, canvasmaker=numbered_canvas(footer))
    return buffer.getvalue()
