"""The labor part of an order's production record: per operation, who worked it and how long.

Read from the labor the floor already keeps (`workorders.selectors.labor`: the operations' run
time from the ledger, split among the people who badged in at their workstations), summed per
operation and person over the shifts: the record states how long each person worked each
operation, not the shift calendar it fell in, so renaming a shift or moving next month's
calendar leaves a released record's seal intact. Running time nobody attended is kept, with no
person, as the machine running on its own.

A record is decided once its order is finished, when no operation runs any more: its labor then
reads the same every time, and a late fact that changes it (an offline tap synchronised
afterwards, a sign-in corrected) breaks the seal as any other changed fact does. Records released
before labor was part of the record keep verifying: the seal check holds today's record to the
shape of its snapshot, which has no labor.
"""

from __future__ import annotations

from collections import defaultdict

from django.utils.translation import gettext
from reportlab.platypus import Flowable

from traceability.reports.base import para, tables
from workorders.models import WorkOrderOperation
from workorders.selectors.labor import RunEvent, labor_rows


def labor_data(operations: list[WorkOrderOperation], events: list[dict]) -> list[dict]:
    """One entry per operation and person (person "" for unattended running time), in operation
    order, most time first; whole seconds. `operations` are all of one order's, each with its
    `work_order` and `workstation.line.site` loaded, and `events` all of its ledger events, as the
    record has read them (`parts.event_data`): when the operations ran is replayed from these
    rather than from a second read of the ledger."""
    order_id = operations[0].work_order_id if operations else None
    run_events = [
        RunEvent(e["id"], e["kind"], e["occurred_at"], e["quantity"], e["data"], e["operation"], order_id)
        for e in events
    ]
    seconds: dict[tuple, float] = defaultdict(float)
    for row in labor_rows(operations, events=run_events):
        key = (row.sequence, row.operation_id, row.operation, row.workstation, row.person, row.badge)
        seconds[key] += row.seconds
    entries = [
        {
            "operation": operation_id,
            "sequence": sequence,
            "operation_name": name,
            "workstation": workstation,
            "person": person,
            "badge": badge,
            "seconds": round(secs),
        }
        for (sequence, operation_id, name, workstation, person, badge), secs in seconds.items()
        if round(secs) > 0
    ]
    entries.sort(key=lambda e: (e["sequence"], e["person"] == "", -e["seconds"], e["person"], e["badge"]))
    return entries


def hours(seconds: int) -> str:
    """`h:mm` of whole seconds, as a timesheet shows them."""
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def pdf_section(content: dict) -> list[Flowable]:
    """The record PDF's labor table (nothing for a record decided before labor was recorded)."""
    entries = content.get("labor")
    if entries is None:
        return []
    return [
        para(gettext("Labor"), "h2"),
        *tables(
            [gettext("Seq"), gettext("Operation"), gettext("Workstation"), gettext("Person"), gettext("Badge"),
             gettext("Hours")],
            [
                [e["sequence"], e["operation_name"], e["workstation"], e["person"] or gettext("nobody (machine alone)"),
                 e["badge"], hours(e["seconds"])]
                for e in entries
            ],
            [8, 30, 16, 30, 14, 10],
        ),
    ]  # fmt: skip
