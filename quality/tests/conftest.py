"""Fixtures of quality tests: people, an effective checklist attached to an operation, orders."""

import io
import uuid
from decimal import Decimal

import pytest

from mes import roles
from quality import services
from quality.models import ChecklistTemplate, QualitySettings
from workorders.tests.factories import reasons, released_order

PASSWORD = "pass-word-1"


@pytest.fixture
def quality_user(make_user):
    return make_user(roles.QUALITY, username="quinn", first_name="Quinn", last_name="Quist")


@pytest.fixture
def second_quality_user(make_user):
    return make_user(roles.QUALITY, username="qara", first_name="Qara", last_name="Quell")


def key():
    return uuid.uuid4()


ITEMS = [
    {"kind": "check", "prompt": "Work area clean"},
    {"kind": "pass_fail", "prompt": "Visual inspection"},
    {
        "kind": "number",
        "prompt": "Shaft diameter",
        "unit": "mm",
        "lsl": "9.95",
        "usl": "10.05",
        "target": "10.00",
        "decimals": 2,
    },
    {"kind": "text", "prompt": "Remarks", "required": False},
    {"kind": "choice", "prompt": "Coolant", "choices": ["A", "B", "C"]},
    {
        "kind": "choice",
        "prompt": "Tools checked",
        "choices": ["Gauge", "Caliper", "Micrometer"],
        "multiple": True,
        "required": False,
    },
    {"kind": "photo", "prompt": "Photo of first part", "required": False},
]


def make_effective(
    *, site, author, approver, code="CL1", items=ITEMS, signature_required=False
) -> ChecklistTemplate:
    version = services.template_create(
        site=site, code=code, title=f"Checklist {code}", user=author, signature_required=signature_required
    )
    for item in items:
        services.item_add(
            version_id=version.pk, user=author, data=dict(item, required=item.get("required", True))
        )
    services.version_submit(version_id=version.pk, user=author)
    services.version_approve(version_id=version.pk, user=approver, password=PASSWORD)
    services.version_make_effective(version_id=version.pk, user=approver)
    return version.template


@pytest.fixture
def template(site, quality_user):
    return make_effective(site=site, author=quality_user, approver=quality_user)


@pytest.fixture
def hold_reasons(db):
    return reasons()


@pytest.fixture
def order(supervisor, workstation, hold_reasons):
    """A released order of 10 over one operation at `workstation`."""
    return released_order(user=supervisor, workstations=[workstation], quantity=10)


@pytest.fixture
def operation(order):
    return order.operations.get()


def answers_for(template, **overrides) -> dict:
    """Good answers to every item of the template's effective version, by item field."""
    version = template.versions.get(status="effective")
    values = {
        "check": "on",
        "pass_fail": "pass",
        "number": "10.01",
        "text": "ok",
        "choice": None,
        "photo": None,
    }
    out = {}
    for item in version.items.all():
        value = values[item.kind]
        if item.kind == "choice":
            value = [item.choices[0]] if item.multiple else item.choices[0]
        if value is not None:
            out[f"item_{item.pk}"] = value
    for prompt, value in overrides.items():
        item = version.items.get(prompt=prompt)
        out[f"item_{item.pk}"] = value
    return out


def png_bytes(size=(4, 4)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def second_person(site, on=True):
    QualitySettings.objects.update_or_create(site=site, defaults={"second_person_approval": on})


__all__ = ["Decimal"]
