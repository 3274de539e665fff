"""A supervisor binds a tablet; an operator badges in with the keypad and reaches the workstation."""

import pytest

from mes import roles
from tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_badge_and_pin_sign_in_at_a_bound_workstation(asgi_server, tablet_page, make_user, workstation):
    make_user(roles.SUPERVISOR, username="sam")
    operator = make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    page = tablet_page
    base = asgi_server.url

    # The supervisor binds this tablet to the workstation once.
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "sam")
    page.fill("input[name=password]", "pass-word-1")
    page.click("button[type=submit]")
    page.goto(f"{base}/tablets/")
    page.check(f"input[name=workstation][value='{workstation.pk}']")
    page.fill("input[name=name]", "Tablet at CNC1")
    page.click("text=Bind to workstation")
    page.wait_for_selector("text=This tablet is now bound to")
    page.click("text=Sign out")

    # The tablet now opens on the workstation's badge sign-in.
    page.goto(f"{base}/")
    page.wait_for_selector(f"h1:has-text('{workstation.name}')")
    keypad_keys = page.locator("[data-keypad] .key")
    for i in range(keypad_keys.count()):
        box = keypad_keys.nth(i).bounding_box()
        assert box["width"] >= 48 and box["height"] >= 48, "touch targets are at least 48 px"

    page.fill("input[name=badge_number]", "1001")
    page.click("input[name=pin]")
    for digit in "2580":
        page.click(f"[data-keypad] [data-key='{digit}']")
    page.click("[data-keypad] button[type=submit]")

    page.wait_for_url(f"{base}/workstation/")
    assert page.locator("h1").inner_text().startswith(workstation.name)
    assert operator.printed_name in page.locator(".operator").inner_text()
    assert page.evaluate("typeof htmx") == "object", "htmx is loaded from the app itself"
    shot = screenshot(page, "foundation-tablet-workstation-home")
    assert shot.stat().st_size > 0
