"""Completing short on the board in a real browser: the refusal shows in the order's row with the
override form, and the supervisor's reason and password complete the order by a signed override."""

import re

import pytest
from playwright.sync_api import expect

from mes import roles
from mes.signatures import Meaning, Signature
from quality.models import OperationChecklist
from quality.tests.conftest import make_effective
from tests.conftest import screenshot
from workorders import services
from workorders.models import WorkOrder
from workorders.tests.factories import key, reasons, released_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_complete_short_is_refused_then_overridden_with_a_signature(
    asgi_server, browser, make_user, site, workstation
):
    supervisor = make_user(roles.SUPERVISOR, username="sue")
    operator = make_user(roles.OPERATOR, username="olga")
    quality = make_user(roles.QUALITY, username="quentin")
    reasons()
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-7801")
    op = order.operations.get()
    OperationChecklist.objects.create(
        routing_operation=op.routing_operation,
        template=make_effective(site=site, author=quality, approver=quality, code="FINAL"),
        trigger="at_completion",
    )
    services.operation_start(operation_id=op.pk, workstation=workstation, user=operator, key=key())
    services.operation_record_good(
        operation_id=op.pk, workstation=workstation, user=operator, quantity=8, key=key()
    )
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{asgi_server.url}/login/")
        page.fill("input[name=username]", "sue")
        page.fill("input[name=password]", "pass-word-1")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/(board|live|plant)/.*"))
        page.goto(f"{asgi_server.url}/board/")
        row = page.locator(f"#order-{order.pk}")

        # Complete short: the reason is asked, the guard refuses, the row says why and offers the override.
        page.once("dialog", lambda dialog: dialog.accept("Material ran out"))
        row.locator("button[value=completed]").click()
        expect(row.locator(".error")).to_contain_text("FINAL")
        override = row.locator("form.override-form")
        expect(override).to_be_visible()
        assert WorkOrder.objects.get(pk=order.pk).status == "in_progress"
        screenshot(page, "board-complete-short-refused")

        # The override with its reason and the supervisor's password completes the order.
        override.locator("input[name=reason]").fill("Customer takes 8; checklist done after the fact")
        override.locator("input[name=password]").fill("pass-word-1")
        override.locator("button[type=submit]").click()
        expect(row.locator(".status-pill")).to_have_text("Completed")
        screenshot(page, "board-complete-short-overridden")
    finally:
        context.close()

    assert WorkOrder.objects.get(pk=order.pk).status == "completed"
    signature = Signature.objects.get(meaning=Meaning.OVERRIDDEN)
    assert signature.signer == supervisor and signature.comment.startswith("Customer takes 8")
