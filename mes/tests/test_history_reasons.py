"""No code path writes a history row without a person and a reason.

The walk runs the whole demo plant (`seed_demo`: master data, people, orders run on the tablet
paths, quality records, machine data, the ERP outbox) and then reads every model kept with
history. Every row must name who (a person, or the machine data user for what machines report)
and why. The exceptions are listed with their reason; a new one must be argued here.
"""

import pytest
from django.apps import apps
from django.db.models import Q

# Rows written before any person exists: the demo plant's own structure and its people are
# bootstrapped as `createsuperuser` would be, by nobody. They still say why where they can.
BOOTSTRAP = {
    "mes.site": "the plant's sites are made before any person exists",
    "mes.line": "its lines, with the sites",
    "mes.workstation": "its workstations, with the sites",
    "mes.shift": "its shifts, with the sites",
    "mes.user": "its people: the first of them cannot be made by a person",
}


def _kept_with_history():
    for model in apps.get_models():
        if getattr(model._meta, "simple_history_manager_attribute", None):
            yield model, getattr(model, model._meta.simple_history_manager_attribute).model


@pytest.mark.requirement("P11-11.10e", "A11-9")
@pytest.mark.django_db
def test_every_history_row_of_the_demo_plant_names_who_and_why(demo_plant):
    walked = 0
    missing = {}
    for model, history in _kept_with_history():
        rows = history.objects.all()
        walked += rows.count()
        if model._meta.label_lower in BOOTSTRAP:
            rows = rows.exclude(history_user__isnull=True)
        without = rows.filter(
            Q(history_user__isnull=True) | Q(history_change_reason__isnull=True) | Q(history_change_reason="")
        )
        found = list(
            without.values_list("history_type", "history_user__username", "history_change_reason")[:5]
        )
        if found:
            missing[model._meta.label] = found
    assert walked > 1000  # the seeding really wrote history
    assert missing == {}


def test_the_bootstrap_exceptions_are_models_kept_with_history():
    labels = {model._meta.label_lower for model, _ in _kept_with_history()}
    assert set(BOOTSTRAP) <= labels
