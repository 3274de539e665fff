"""The quality part of seed_demo: effective checklists with a drifting history, SOPs, a hold."""

import pytest
from django.core.management import call_command

from quality.models import (
    ChecklistRun,
    ChecklistTemplate,
    Hold,
    Nonconformance,
    OperationChecklist,
    SopVersion,
)

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_quality_and_is_idempotent(demo_plant):
    first = (
        ChecklistTemplate.objects.count(),
        ChecklistRun.objects.count(),
        Nonconformance.objects.count(),
        SopVersion.objects.count(),
        Hold.objects.count(),
    )
    call_command("seed_demo", verbosity=0)
    assert (
        ChecklistTemplate.objects.count(),
        ChecklistRun.objects.count(),
        Nonconformance.objects.count(),
        SopVersion.objects.count(),
        Hold.objects.count(),
    ) == first

    assert all(t.versions.filter(status="effective").exists() for t in ChecklistTemplate.objects.all())
    assert OperationChecklist.objects.exists()
    assert Nonconformance.objects.filter(automatic=True).exists(), "the drift opened nonconformances"
    assert Hold.objects.filter(status="active").count() == 1
    assert SopVersion.objects.filter(status="effective").count() >= 5
