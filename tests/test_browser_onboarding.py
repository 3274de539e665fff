"""A new operator's first day, in a real browser: the supervisor adds them at the People desk and
hands over a one-time PIN; at a bound tablet they badge in, choose their own PIN, are refused
Start until they have read the SOP of the operation (the refusal offers the SOP right there),
read and acknowledge it, and Start then works."""

import uuid

import pytest
from playwright.sync_api import expect

from mes import roles
from mes.models import User
from mes.signatures import manifestations
from quality import services as quality
from quality.models import SopAcknowledgement, StartRefusal
from tests.conftest import screenshot
from tests.test_browser_tablet import badge_in, bind_tablet
from workorders.models import ProductionEvent
from workorders.states import EventKind
from workorders.tests.factories import released_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pass-word-1"


def effective_sop(author, site, operation):
    """SOP-12 Clamping, effective and attached to the operation's routing step."""
    version = quality.sop_create(
        site=site, code="SOP-12", title="Clamping the blank", body="Clamp the blank **twice**.", user=author
    )
    quality.sop_version_submit(version_id=version.pk, user=author)
    quality.sop_version_approve(version_id=version.pk, user=author, password=PASSWORD)
    version = quality.sop_version_make_effective(version_id=version.pk, user=author)
    quality.operation_sop_attach(
        routing_operation=operation.routing_operation, document=version.document, user=author
    )
    return version


def add_person_at_the_desk(desk, base, site) -> str:
    """The supervisor adds Nina Novak, operator at `site`, and issues her PIN; returns the PIN."""
    desk.goto(f"{base}/login/")
    desk.fill("input[name=username]", "sam")
    desk.fill("input[name=password]", PASSWORD)
    desk.click("button[type=submit]")
    desk.goto(f"{base}/people/")
    desk.click("text=New person")
    desk.fill("input[name=username]", "nina")
    desk.fill("input[name=first_name]", "Nina")
    desk.fill("input[name=last_name]", "Novak")
    desk.fill("input[name=badge_number]", "3003")
    desk.select_option("select[name=role]", roles.OPERATOR)
    desk.check(f"input[name=sites][value='{site.pk}']")
    # The reason is the supervisor's to give: the field starts empty and is required.
    reason = desk.locator("form.stack input[name=reason]")
    expect(reason).to_have_value("")
    assert reason.evaluate("el => el.required") is True
    reason.fill("Hired for the night shift")
    desk.click("text=Create person")
    expect(desk.locator("h1")).to_contain_text("Nina Novak")

    desk.fill("form[action$='/pin/'] input[name=reason]", "First day")
    desk.click("text=Issue a new PIN")
    expect(desk.locator("h1")).to_contain_text("New PIN for Nina Novak")
    pin = desk.locator("[aria-label='The new PIN'] .key").inner_text().strip()
    assert len(pin) == 6 and pin.isdigit()
    screenshot(desk, "onboarding-pin-issued")
    return pin


def test_a_new_operator_is_added_signs_in_reads_the_sop_and_starts(
    asgi_server, browser, tablet_page, make_user, site, workstation
):
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    author = make_user(roles.QUALITY, username="quinn")
    order = released_order(user=supervisor, workstations=[workstation], quantity=5, number="WO-8101")
    operation = order.operations.get()
    version = effective_sop(author, site, operation)
    base = asgi_server.url

    # At the desk, in another browser: the person, their role and site, their one-time PIN.
    desk_context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        pin = add_person_at_the_desk(desk_context.new_page(), base, site)
    finally:
        desk_context.close()
    nina = User.objects.get(username="nina")
    assert roles.role_of(nina) == roles.OPERATOR and list(nina.sites.all()) == [site]
    reasons = list(
        nina.history.order_by("history_id").values_list("history_user__username", "history_change_reason")
    )
    assert reasons[0] == ("sam", "Hired for the night shift")
    assert reasons[-1] == ("sam", "First day")
    assert nina.check_pin(pin)

    # At the tablet: badge and the PIN given, then a PIN of her own.
    page = tablet_page
    bind_tablet(page, base, workstation)
    badge_in(page, base, "3003", pin)
    page.goto(f"{base}/tablet/pin/")
    page.fill("input[name=old_pin]", pin)
    page.fill("input[name=new_pin]", "4826")
    page.fill("input[name=new_pin_again]", "4826")
    page.click("button:has-text('Change my PIN')")
    expect(page.locator("body")).to_contain_text("Your PIN is changed")
    nina.refresh_from_db()
    assert nina.check_pin("4826") and not nina.check_pin(pin)

    # Start is refused until the SOP is read, and the refusal offers the SOP right there.
    page.goto(f"{base}/workstation/")
    page.click(".queue-item[data-order='WO-8101']")
    page.click(".act-start")
    status = page.locator("#tap-status")
    expect(status).to_contain_text("Refused: Start")
    expect(status).to_contain_text("Read SOP SOP-12 (Clamping the blank)")
    read = status.locator("[data-refusal-page]")
    expect(read).to_have_text("Read the SOP")
    screenshot(page, "onboarding-start-refused-for-the-sop")
    assert not ProductionEvent.objects.filter(operation=operation).exists()
    refusal = StartRefusal.objects.get()
    assert (refusal.user, refusal.workstation, refusal.operation) == (nina, workstation, operation)
    assert (refusal.guard, refusal.code) == (StartRefusal.Guard.SOP, "sop_not_acknowledged")

    # She reads it and confirms; the tablet takes her back to the operation, where Start works.
    read.click()
    expect(page.locator("article.sop-body h2")).to_contain_text("SOP-12 v1")
    expect(page.locator("article.sop-body strong")).to_have_text("twice")
    page.fill("form.sop-ack input[name=badge_number]", "3003")
    page.fill("form.sop-ack input[name=pin]", "1111")  # not her PIN: refused, nothing kept
    page.click("text=I have read and understood this version")
    expect(page.locator("form.sop-ack [role=alert]")).to_contain_text("Badge or PIN is not right")
    assert not SopAcknowledgement.objects.filter(user=nina).exists()
    page.fill("form.sop-ack input[name=badge_number]", "3003")
    page.fill("form.sop-ack input[name=pin]", "4826")
    page.click("text=I have read and understood this version")
    page.wait_for_url(f"{base}/workstation/operations/{operation.pk}/")
    page.click(".act-start")
    expect(page.locator("#tap-status")).to_contain_text("Saved: Start")
    expect(page.locator("[data-op-status]")).to_have_text("Running")
    expect(page.locator("#tap-status [data-refusal-page]")).to_have_count(0)
    screenshot(page, "onboarding-started")

    acknowledgement = SopAcknowledgement.objects.get(user=nina)
    assert (acknowledgement.version, acknowledgement.workstation) == (version, workstation)
    assert [(m.meaning, m.printed_name) for m in manifestations(acknowledgement)] == [
        ("Reviewed", "Nina Novak")
    ]
    start = ProductionEvent.objects.get(operation=operation)
    assert (start.kind, start.user) == (EventKind.START, nina)
    assert isinstance(start.idempotency_key, uuid.UUID)
    assert StartRefusal.objects.count() == 1  # the start that worked left no refusal
