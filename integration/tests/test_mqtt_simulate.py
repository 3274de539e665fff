"""The line simulator in embedded mode feeds the production services in-process."""

import pytest
from django.core.management import call_command

from mes import roles
from workorders.live.demo import seed_machine_reasons
from workorders.live.models import LineStatus, MachineCounter
from workorders.models import ProductionEvent
from workorders.states import EventKind
from workorders.tests.factories import reasons, released_order

pytestmark = pytest.mark.django_db


def test_simulator_without_a_broker_moves_the_line(
    make_user, workstation, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.delenv("MQTT_URL", raising=False)
    reasons()
    seed_machine_reasons(lambda _: None)
    released_order(
        user=make_user(roles.SUPERVISOR, username="sam"), workstations=[workstation], quantity=10000
    )
    with django_capture_on_commit_callbacks(execute=True):  # the dashboards' deltas follow commits
        call_command(
            "simulate_line", via="auto", site=workstation.line.site.code, speed=200, seconds=3, seed=7
        )
    assert ProductionEvent.objects.filter(workstation=workstation, kind=EventKind.START).exists()
    assert ProductionEvent.objects.filter(workstation=workstation, kind=EventKind.COMPLETE).exists()
    assert MachineCounter.objects.get(pk=workstation.pk).good_total > 0
    assert LineStatus.objects.get(pk=workstation.line_id).sequence > 2
