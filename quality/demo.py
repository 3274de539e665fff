"""The quality part of the demo plant (seeded after production): effective checklists on the demo
routings with a history of measurements that drifts out of spec now and then, a start-up form,
an SOP per operation, a few nonconformances and a hold.

Everything is written through the quality services, as the demo's quality user (author) and
admin (approver, since a site may require a second person). Looked up by natural keys first,
so running it twice adds nothing.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable

from django.db import transaction

from mes.demo import DEMO_SITE
from mes.models import Site, User, Workstation
from quality import services
from quality.models import ChecklistTemplate, Nonconformance, OperationChecklist, SopDocument
from quality.states import Trigger
from workorders.models import RoutingOperation, WorkOrder
from workorders.states import WorkOrderStatus

SEED = 2026
APPROVER_PASSWORD = "admin-demo"
MEASURE = {  # workstation: (checklist code, title, prompt, unit, lsl, usl, target)
    "CNC1": ("CNC-HSG", "Housing in-process check", "Bore diameter", "mm", "24.95", "25.05", "25.00"),
    "CNC2": ("CNC-SHF", "Shaft in-process check", "Shaft diameter", "mm", "11.97", "12.03", "12.00"),
    "TEST1": ("LEAK-TEST", "Leak test record", "Leak rate", "mbar·l/s", "0", "0.50", "0.20"),
}


def _items(prompt, unit, lsl, usl, target):
    return [
        {"kind": "check", "prompt": "Work area clean and tools in place"},
        {"kind": "pass_fail", "prompt": "Visual inspection of the first part"},
        {
            "kind": "number",
            "prompt": prompt,
            "unit": unit,
            "lsl": lsl,
            "usl": usl,
            "target": target,
            "decimals": 2,
        },
        {"kind": "choice", "prompt": "Gauge used", "choices": ["Caliper", "Micrometer", "Bore gauge"]},
        {"kind": "text", "prompt": "Remarks", "required": False},
        {"kind": "photo", "prompt": "Photo of the part", "required": False},
    ]


def _effective(site, code, title, items, author, approver, signature_required=False) -> ChecklistTemplate:
    template = ChecklistTemplate.objects.filter(site=site, code=code).first()
    if template is not None:
        return template
    version = services.template_create(
        site=site, code=code, title=title, user=author, signature_required=signature_required
    )
    for item in items:
        services.item_add(
            version_id=version.pk, user=author, data=dict(item, required=item.get("required", True))
        )
    services.version_submit(version_id=version.pk, user=author)
    services.version_approve(version_id=version.pk, user=approver, password=APPROVER_PASSWORD, comment="Demo")
    services.version_make_effective(version_id=version.pk, user=approver)
    return version.template


def _answers(template, value: str, rng: random.Random) -> dict:
    out = {}
    for item in template.versions.get(status="effective").items.all():
        if item.kind == "check":
            out[f"item_{item.pk}"] = "on"
        elif item.kind == "pass_fail":
            out[f"item_{item.pk}"] = "pass"
        elif item.kind == "number":
            out[f"item_{item.pk}"] = value
        elif item.kind == "choice":
            out[f"item_{item.pk}"] = rng.choice(item.choices)
    return out


def seed_quality(say: Callable[[str], None]) -> None:
    site = Site.objects.filter(code=DEMO_SITE).first()
    users = {
        u.username: u
        for u in User.objects.filter(username__in=["quality", "admin", "operator", "supervisor"])
    }
    if site is None or len(users) < 4:
        return
    author, approver, operator, supervisor = (
        users["quality"],
        users["admin"],
        users["operator"],
        users["supervisor"],
    )
    rng = random.Random(SEED)
    with transaction.atomic():
        for station_code, (code, title, prompt, unit, lsl, usl, target) in MEASURE.items():
            fresh = not ChecklistTemplate.objects.filter(site=site, code=code).exists()
            template = _effective(site, code, title, _items(prompt, unit, lsl, usl, target), author, approver)
            station = Workstation.objects.filter(line__site=site, code=station_code).first()
            for ro in RoutingOperation.objects.filter(workstation=station):
                if not OperationChecklist.objects.filter(routing_operation=ro, template=template).exists():
                    services.operation_checklist_attach(
                        routing_operation=ro, template=template, trigger=Trigger.AT_COMPLETION, user=author
                    )
            if fresh and station is not None:
                # A history that sits on target, then drifts: the SPC chart flags the drift, and the
                # values past the upper spec limit opened nonconformances.
                lo, hi, mid = float(lsl), float(usl), float(target)
                sigma = (hi - lo) / 10
                for i in range(40):
                    drift = max(0, i - 30) * sigma * 0.9
                    value = max(0.0, rng.gauss(mid, sigma) + drift)
                    services.checklist_run_submit(
                        key=uuid.uuid5(uuid.NAMESPACE_URL, f"demo-run-{code}-{i}"),
                        user=operator,
                        workstation=station,
                        template=template,
                        answers=_answers(template, f"{value:.2f}", rng),
                    )
                say(f"checklist {code} with 40 runs")
        startup = _effective(
            site,
            "STARTUP",
            "Machine start-up and safety check",
            [
                {"kind": "check", "prompt": "Guards closed and interlocks tested"},
                {"kind": "check", "prompt": "Emergency stop tested"},
                {"kind": "pass_fail", "prompt": "Coolant level"},
                {
                    "kind": "number",
                    "prompt": "Air pressure",
                    "unit": "bar",
                    "lsl": "5.5",
                    "usl": "7.0",
                    "decimals": 1,
                },
            ],
            author,
            approver,
        )
        if not startup.assignments.exists():
            for station in Workstation.objects.filter(line__site=site, line__code="MACH"):
                services.form_assign(
                    template=startup, schedule="start_of_shift", workstation=station, user=author
                )
        for ro in RoutingOperation.objects.filter(workstation__line__site=site).select_related("routing"):
            code = f"SOP-{ro.routing.product.part_number}-{ro.routing.code}-{ro.sequence}"
            document = SopDocument.objects.filter(site=site, code=code).first()
            if document is None:
                version = services.sop_create(
                    site=site,
                    code=code,
                    title=ro.name,
                    user=author,
                    body=f"Work instruction for {ro.name}.\n\n1. Check the order and the drawing revision.\n"
                    "2. Set up the workstation as shown on the setup sheet.\n3. Make the first part and fill the checklist.\n"
                    "4. Record good and scrap counts as you go.",
                )
                services.sop_version_submit(version_id=version.pk, user=author)
                services.sop_version_approve(version_id=version.pk, user=approver, password=APPROVER_PASSWORD)
                services.sop_version_make_effective(version_id=version.pk, user=approver)
                document = version.document
            services.operation_sop_attach(routing_operation=ro, document=document, user=author)
        if not Nonconformance.objects.filter(automatic=False).exists():
            # The order production already put on hold: the quality hold explains it, and changes no status.
            order = (
                WorkOrder.objects.filter(line__site=site, status=WorkOrderStatus.ON_HOLD)
                .order_by("number")
                .first()
            )
            services.nonconformance_open(
                key=uuid.uuid5(uuid.NAMESPACE_URL, "demo-nc-1"),
                user=supervisor,
                site=site,
                title="Burr on housing flange",
                description="Found at assembly; 3 parts affected.",
                work_order=order,
                lot_code="L-HSG-2611",
            )
            if order is not None:
                services.hold_place(
                    key=uuid.uuid5(uuid.NAMESPACE_URL, "demo-hold-1"),
                    user=author,
                    work_order=order,
                    reason="Burr on housing flange: sort 100 %",
                )
            say("nonconformances and a hold")
