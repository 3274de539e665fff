"""An order completed by a supervisor's signed override shows on its record as an exception that
names what was overridden, who signed and why, and links to the signature."""

from __future__ import annotations

import pytest

from mes import roles
from mes.signatures import Meaning, Signature
from quality.models import OperationChecklist
from quality.tests.conftest import PASSWORD, key, make_effective
from traceability.record.exceptions import exceptions_for
from traceability.record.selectors import record_for
from workorders import services as production
from workorders.tests.factories import released_order

REASON = "Material ran out; customer takes 8"


@pytest.fixture
def quality(make_user):
    return make_user(roles.QUALITY, username="quentin", first_name="Quentin", last_name="Quality")


@pytest.fixture
def overridden(site, workstation, operator, supervisor, quality):
    """An order of 10 completed short at 8, over its missing completion checklist, by override."""
    template = make_effective(site=site, author=quality, approver=quality, code="FINAL")
    order = released_order(user=supervisor, workstations=[workstation], quantity=10)
    op = order.operations.get()
    OperationChecklist.objects.create(
        routing_operation=op.routing_operation, template=template, trigger="at_completion"
    )
    production.operation_start(operation_id=op.pk, workstation=workstation, user=operator, key=key())
    production.operation_record_good(
        operation_id=op.pk, workstation=workstation, user=operator, quantity=8, key=key()
    )
    recorded = production.workorder_transition(
        work_order_id=order.pk, target="completed", user=supervisor, key=key(), reason=REASON,
        override=True, password=PASSWORD,
    )  # fmt: skip
    return order, recorded.event


def test_the_override_is_an_exception_linked_to_its_signature(overridden, supervisor):
    order, event = overridden
    signature = Signature.objects.get(meaning=Meaning.OVERRIDDEN)

    record = record_for(order)
    found = {e.key: e for e in exceptions_for(record)}

    override = found[f"override:{event.pk}"]
    assert override.kind == "override"
    assert override.title.startswith("Completed by override, 8 of 10 good — over: Checklist not done: FINAL")
    assert f"By {supervisor.printed_name}: {REASON}." in override.detail
    assert f"Signed overridden by {signature.printed_name}" in override.detail
    assert (override.evidence, override.model, override.record_id) == (
        f"sig-{signature.pk}",
        "mes.signature",
        signature.pk,
    )
    # The signature is part of the record, and the missing checklist is still shown on its own.
    assert [s["meaning"] for s in record.content["signatures"]] == ["Overridden"]
    assert any(e.kind == "checklist_missing" for e in found.values())


def test_the_review_page_shows_the_override_and_its_evidence(overridden, client_for, quality):
    order, event = overridden
    signature = Signature.objects.get(meaning=Meaning.OVERRIDDEN)

    html = client_for(quality).get(f"/records/{order.number}/").content.decode()

    assert f'id="x-override:{event.pk}"' in html
    assert f'href="#sig-{signature.pk}"' in html and f'id="sig-{signature.pk}"' in html
