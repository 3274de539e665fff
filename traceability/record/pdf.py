"""The production record as a PDF: paged, each page with the order, page x of y and the record's
hash; the status and the exceptions first (with the reviewer's comments), then the full record.
Laid out with the reports' one PDF base (page-sized tables with fixed column widths)."""

from __future__ import annotations

import io

from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate

from traceability.record.review import RecordView
from traceability.reports.base import MARGIN, PAGE, fmt_time, key_values, numbered_canvas, para, tables


def _num(value) -> str:
    return "" if value is None else format(value.normalize(), "f")


def record_pdf(view: RecordView) -> bytes:
    c = view.record.content
    order = c["order"]
    story: list = [para(f"Production record — order {order['number']}", "title")]
    seal = {None: "not sealed", True: "intact", False: "BROKEN: the record changed after it was decided"}
    story.append(
        key_values(
            [
                ("Product", f"{order['product']['part_number']} {order['product']['name']}"),
                ("Quantity", f"{_num(order['quantity'])} ordered, {_num(order['quantity_good'])} good, "
                 f"{_num(order['quantity_scrap'])} scrap {order['product']['unit']}"),
                ("Site / line", f"{order['site']} / {order['line']}"),
                ("Routing", f"{order['routing']['code']} revision {order['routing']['revision'] or '—'}"),
                ("BOM", ", ".join(f"{b['component']} x {_num(b['quantity'])}" for b in order["bom"]) or "—"),
                ("Released / started / completed", " / ".join(
                    fmt_time(order[k]) or "—" for k in ("released_at", "started_at", "completed_at"))),
                ("Review", f"{view.status_label}; seal {seal[view.seal_intact]}"),
                ("Signatures", "; ".join(str(s) for s in view.signatures) or "none"),
                ("Record hash (SHA-256)", view.content_hash),
            ]
        )
    )  # fmt: skip
    story.append(para(f"Exceptions — {view.summary}", "h2"))
    if view.exceptions:
        rows = [
            [e.kind_label, para(e.title, "small"), para(e.detail, "small"),
             para(" | ".join(f"{x.author.printed_name}: {x.text}" for x in comments) or "—", "small")]
            for e, comments in view.exception_rows()
        ]  # fmt: skip
        story += tables(["Kind", "What", "Detail", "Reviewer's comments"], rows, [18, 35, 40, 40])
    story.append(para("Operations", "h2"))
    story += tables(
        ["Seq", "Operation", "Workstation", "Started", "Last event", "Good", "Scrap", "People"],
        [
            [op["sequence"], op["name"], op["workstation"], fmt_time(op["started_at"]),
             fmt_time(op["last_event_at"]), _num(op["quantity_good"]), _num(op["quantity_scrap"]),
             ", ".join(op["people"])]
            for op in c["operations"]
        ],
        [6, 22, 14, 20, 20, 8, 8, 30],
    )  # fmt: skip
    story.append(para("Production events", "h2"))
    story += tables(
        ["#", "Kind", "Workstation", "Made", "Recorded", "By", "Qty", "Reason / note"],
        [
            [e["id"], e["kind"], e["workstation"], fmt_time(e["occurred_at"]), fmt_time(e["recorded_at"]),
             e["by"], _num(e["quantity"]), " ".join(x for x in (e["reason"], e["note"]) if x)]
            for e in c["events"]
        ],
        [7, 12, 12, 20, 20, 16, 8, 25],
    )  # fmt: skip
    story.append(para("Materials consumed", "h2"))
    story += tables(
        ["Lot", "Part", "Quantity", "Operation", "By", "When"],
        [[m["lot"], m["part_number"], f"{_num(m['quantity'])} {m['unit']}", m["operation"], m["by"],
          fmt_time(m["at"])] for m in c["materials"]],
        [20, 20, 12, 10, 18, 20],
    )  # fmt: skip
    story.append(para("Checklist values", "h2"))
    story += tables(
        ["Run", "Checklist", "Item", "Value", "LSL", "USL", "In spec", "By", "When"],
        [
            [run["id"], f"{run['template']} v{run['version']}", r["item"], r["value"], _num(r["lsl"]),
             _num(r["usl"]), {True: "yes", False: "NO", None: ""}[r["in_spec"]], r["by"], fmt_time(r["at"])]
            for run in c["checklist_runs"]
            for r in run["responses"]
        ],
        [6, 16, 20, 12, 8, 8, 7, 15, 20],
    )  # fmt: skip
    story.append(para("SOPs in force", "h2"))
    story += tables(
        ["Operation", "SOP", "Version", "Acknowledged by", "Not acknowledged by"],
        [[s["operation"], f"{s['document']} {s['title']}", s["version"] or "—",
          ", ".join(a["by"] for a in s["acknowledged"]), ", ".join(s["not_acknowledged_by"])] for s in c["sops"]],
        [10, 30, 8, 30, 30],
    )  # fmt: skip
    story.append(para("Nonconformances, holds, downtime, lots made", "h2"))
    story += tables(
        ["Record", "What", "Status", "Detail"],
        [[nc["number"], nc["title"], nc["status"], f"{nc['disposition']} {nc['disposition_note']}".strip()]
         for nc in c["nonconformances"]]
        + [[f"Hold {h['id']}", h["target"], h["status"], h["reason"]] for h in c["holds"]]
        + [[f"Downtime {d['id']}", f"{d['workstation']} {d['reason']}", fmt_time(d["started_at"]),
            f"{d['minutes']} min" if d["minutes"] is not None else "open"] for d in c["downtime"]]
        + [[lot["code"], lot["kind"], view.record.lot_status.get(lot["code"], ""), _num(lot["quantity"])]
           for lot in c["lots"]],
        [15, 35, 20, 40],
    )  # fmt: skip
    story.append(para("Signatures on the record's parts", "h2"))
    story += tables(
        ["Record", "Meaning", "Signed by", "When", "Hash"],
        [[f"{s['record']} {s['record_id']}", s["meaning"], s["printed_name"], fmt_time(s["signed_at"]),
          s["content_hash"][:16]] for s in c["signatures"]],
        [25, 12, 20, 20, 20],
    )  # fmt: skip
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=14 * mm,
        title=f"Production record {order['number']}",
    )  # fmt: skip
    footer = f"Order {order['number']} · record SHA-256 {view.content_hash}"
    doc.build(story, canvasmaker=numbered_canvas(footer))
    return buffer.getvalue()
