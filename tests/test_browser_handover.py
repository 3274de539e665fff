"""Shift handover on a real tablet browser: the outgoing operator leaves notes from the queue, the
incoming operator meets them right after badging in, acknowledges with a gloved finger and goes on
to the queue."""

import pytest
from playwright.sync_api import expect

from mes import roles
from tests.conftest import screenshot
from tests.test_browser_tablet import bind_tablet
from workorders.models import Handover, HandoverAcknowledgement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_with_badge(page, base, badge, pin):
    page.goto(f"{base}/")
    page.fill("input[name=badge_number]", badge)
    page.click("input[name=pin]")
    for digit in pin:
        page.click(f"[data-keypad] [data-key='{digit}']")
    page.click("[data-keypad] button[type=submit]")


def test_the_next_shift_reads_and_acknowledges_what_the_last_one_left(
    asgi_server, tablet_page, make_user, workstation
):
    make_user(roles.SUPERVISOR, username="sam")
    olga = make_user(roles.OPERATOR, username="olga", first_name="Olga", badge=("1001", "2580"))
    pete = make_user(roles.OPERATOR, username="pete", first_name="Pete", badge=("1003", "3690"))
    page, base = tablet_page, asgi_server.url
    bind_tablet(page, base, workstation)

    # Olga, at the end of her shift, leaves a handover from the queue.
    sign_in_with_badge(page, base, "1001", "2580")
    page.wait_for_url(f"{base}/workstation/")
    page.click("text=Leave a handover")
    page.wait_for_url(f"{base}/workstation/handovers/new/")
    page.fill("textarea[name=machine_condition]", "Spindle needs 20 min warm-up")
    page.fill("textarea[name=quality_watch_outs]", "Measure the bore on every 5th part")
    page.click("button:has-text('Leave handover')")
    page.wait_for_url(f"{base}/workstation/")
    expect(page.locator(".toast")).to_contain_text("Handover left")
    handover = Handover.objects.get()
    assert handover.author == olga and handover.workstation_id == workstation.pk
    page.click("text=Sign out")

    # Pete badges in: the handover comes before the queue.
    sign_in_with_badge(page, base, "1003", "3690")
    page.wait_for_url(f"{base}/workstation/handovers/")
    card = page.locator(f"[data-handover='{handover.pk}']")
    expect(card).to_contain_text("Spindle needs 20 min warm-up")
    expect(card).to_contain_text("Measure the bore on every 5th part")
    button = card.locator("button:has-text('Acknowledge')")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 48, box  # a gloved finger hits it
    screenshot(page, "tablet-handover")
    button.click()
    page.wait_for_url(f"{base}/workstation/")
    ack = HandoverAcknowledgement.objects.get()
    assert (ack.handover_id, ack.user_id) == (handover.pk, pete.pk)
