"""The live part of the demo: machine reason codes, andon calls, the line status rebuilt."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from mes.demo import DEMO_SITE
from mes.models import User, Workstation
from workorders.demo.data import ADMIN, reason_translations
from workorders.live.models import AndonCall
from workorders.live.projection import rebuild_line_status
from workorders.live.states import AndonKind
from workorders.models import ReasonCode
from workorders.services.andon import andon_acknowledge, andon_raise, andon_resolve
from workorders.services.machine import machine_user
from workorders.services.master import master_data_save
from workorders.states import Loss, ReasonKind

MACHINE_REASONS = [
    ("BLOCKED", "Blocked or starved (reported by the machine)", ReasonKind.DOWNTIME, Loss.SMALL_STOP),
    ("OFFLINE", "Machine offline (no data)", ReasonKind.DOWNTIME, Loss.BREAKDOWN),
    ("MACHINE-REJECT", "Rejected by the machine", ReasonKind.SCRAP, ""),
]
# (workstation, kind, minutes ago, note, acknowledged after, resolved after) in minutes.
CALLS = [
    ("CNC2", AndonKind.MAINTENANCE, 190, "Coolant leak at the chuck", 4, 35),
    ("ASM1", AndonKind.MATERIAL, 95, "Out of M6 screws", 6, 18),
    ("TEST1", AndonKind.QUALITY, 40, "Two fails in a row on leak test", 3, None),
    ("PACK1", AndonKind.HELP, 6, "Label printer jammed", None, None),
]


def seed_machine_reasons(say: Callable[[str], None]) -> None:
    # The demo admin adds them; a plant without one (a test's) has them from the machine data user.
    author = User.objects.filter(username=ADMIN).first()
    for code, name, kind, loss in MACHINE_REASONS:
        if not ReasonCode.objects.filter(code=code).exists():
            master_data_save(
                instance=ReasonCode(
                    code=code, name=name, kind=kind, loss=loss, translations=reason_translations(code)
                ),
                user=author or machine_user(),
                reason="Demo plant: a reason machines report",
            )
            say(f"reason {code}")


@transaction.atomic
def seed_live(say: Callable[[str], None]) -> None:
    seed_machine_reasons(say)
    if not AndonCall.objects.exists():
        stations = {w.code: w for w in Workstation.objects.filter(line__site__code=DEMO_SITE)}
        operator = User.objects.filter(username="operator").first()
        supervisor = User.objects.filter(username="supervisor").first()
        now = timezone.now()
        for code, kind, ago, note, ack, resolved in CALLS:
            if code not in stations or operator is None or supervisor is None:
                continue
            raised = now - timedelta(minutes=ago)
            call = andon_raise(
                workstation=stations[code],
                user=operator,
                kind=kind,
                key=uuid.uuid4(),
                note=note,
                raised_at=raised,
            )
            # The demo's history: answer times as they were, written through the services.
            if ack is not None:
                call = andon_acknowledge(call_id=call.pk, user=supervisor, at=raised + timedelta(minutes=ack))
            if resolved is not None:
                call = andon_resolve(
                    call_id=call.pk, user=supervisor, at=raised + timedelta(minutes=resolved)
                )
        say(f"{len(CALLS)} andon calls")
    rows = rebuild_line_status()
    say(f"line status rebuilt for {rows} workstations")
