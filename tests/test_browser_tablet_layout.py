"""What an operator sees on a 1024x768 tablet, measured: one keypad laid out like a numeric pad
wherever numbers are entered, no system keyboard over it, the running operation's counters and
big buttons on the first screen above the fixed waiting bar, material summed per lot, limits
written as a person writes them, and a bound tablet that always opens on the badge sign-in."""

import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from mes import roles
from quality import services as quality
from quality.models import OperationChecklist
from tests.conftest import screenshot
from tests.test_browser_tablet import badge_in, bind_tablet
from workorders import services
from workorders.models import BomLine
from workorders.states import Tracking
from workorders.tests.factories import ProductFactory, reasons, released_order, routing_with

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEIGHT = 768
PAD = [["7", "8", "9"], ["4", "5", "6"], ["1", "2", "3"]]


def keypad_rows(keypad) -> list[list[str]]:
    """The keys' texts row by row, as a person reads them: top to bottom, left to right."""
    boxes = []
    keys = keypad.locator(".key")
    for i in range(keys.count()):
        box = keys.nth(i).bounding_box()
        boxes.append((round(box["y"]), box["x"], keys.nth(i).inner_text().strip()))
    rows: dict[int, list] = {}
    for y, x, text in sorted(boxes):
        rows.setdefault(y, []).append((x, text))
    return [[t for _, t in sorted(row)] for _, row in sorted(rows.items())]


def assert_numeric_pad(keypad, last_rows):
    rows = keypad_rows(keypad)
    assert rows[:3] == PAD, rows
    assert rows[3:] == last_rows, rows


def assert_on_first_screen(page, selector):
    """Fully visible without scrolling, and not under the fixed waiting bar."""
    assert page.evaluate("window.scrollY") == 0
    box = page.locator(selector).bounding_box()
    bar = page.locator("#waiting").bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= bar["y"] <= HEIGHT, (
        f"{selector}: {box}, bar at {bar['y']}"
    )


def test_badge_sign_in_keypad_types_into_the_field_tapped_and_no_system_keyboard(
    asgi_server, tablet_page, make_user, workstation
):
    make_user(roles.SUPERVISOR, username="sam")
    make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    page, base = tablet_page, asgi_server.url

    # The supervisor's sign-out leaves the bound tablet on the badge sign-in, not the desk's.
    bind_tablet(page, base, workstation)
    page.wait_for_url(f"{base}/tablet/sign-in/")
    expect(page.locator("input[name=badge_number]")).to_be_visible()

    keypad = page.locator("[data-keypad]")
    assert_numeric_pad(keypad, [["0"], ["⌫", "OK"]])
    for name in ("badge_number", "pin"):
        assert page.locator(f"input[name={name}]").get_attribute("inputmode") == "none"

    # Without a badge reader: tap the badge field, type it; tap the PIN field, type it.
    page.click("input[name=badge_number]")
    for digit in "1009":
        keypad.locator(f"[data-key='{digit}']").click()
    keypad.locator("[data-key=clear]").click()
    keypad.locator("[data-key='1']").click()
    page.click("input[name=pin]")
    for digit in "2580":
        keypad.locator(f"[data-key='{digit}']").click()
    expect(page.locator("input[name=badge_number]")).to_have_value("1001")
    expect(page.locator("input[name=pin]")).to_have_value("2580")
    screenshot(page, "tablet-layout-sign-in")
    keypad.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/workstation/")

    # A badge reader types the badge and Enter: the keypad then goes on with the PIN.
    page.click("text=Sign out")
    page.wait_for_url(f"{base}/tablet/sign-in/")
    page.fill("input[name=badge_number]", "1001")
    page.press("input[name=badge_number]", "Enter")
    for digit in "2580":
        keypad.locator(f"[data-key='{digit}']").click()
    expect(page.locator("input[name=pin]")).to_have_value("2580")
    expect(page.locator("input[name=badge_number]")).to_have_value("1001")


def test_running_operation_counters_and_buttons_are_on_the_first_screen(
    asgi_server, tablet_page, make_user, workstation
):
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    operator = make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    reasons()
    raw = ProductFactory(part_number="RAW-1", unit="kg", tracking=Tracking.LOT)
    sub = ProductFactory(part_number="SUB-1", tracking=Tracking.LOT, number_prefix="S", number_date="")
    BomLine.objects.create(product=sub, component=raw, quantity=Decimal("2.5"))
    services.lot_receive(
        product=raw,
        site=workstation.line.site,
        quantity=500,
        user=supervisor,
        code="RAW-LOT-7",
        supplier="ACME",
    )
    order = released_order(
        user=supervisor, routing=routing_with([workstation], product=sub), quantity=40, number="WO-5801"
    )
    op = order.operations.get()
    services.operation_start(operation_id=op.pk, workstation=workstation, user=operator, key=uuid.uuid4())
    for _ in range(15):
        services.operation_consume(
            operation_id=op.pk,
            workstation=workstation,
            user=operator,
            lot_code="RAW-LOT-7",
            quantity="2.5",
            key=uuid.uuid4(),
        )
    services.operation_pause(
        operation_id=op.pk, workstation=workstation, user=operator, reason="BREAK", key=uuid.uuid4()
    )
    page, base = tablet_page, asgi_server.url
    bind_tablet(page, base, workstation)
    badge_in(page, base, "1001", "2580")
    page.click(".queue-item[data-order='WO-5801']")
    expect(page.locator("[data-op-status]")).to_have_text("Paused")

    # Fifteen consumptions of one lot read as one row with the total.
    expect(page.locator("[data-consumed]")).to_have_count(1)
    expect(page.locator("[data-consumed='RAW-LOT-7'] [data-consumed-total]")).to_have_text("37.500 kg")

    page.evaluate("window.scrollTo(0, 0)")
    for selector in ("#op-counters", ".act-resume", ".act-good", ".act-scrap"):
        assert_on_first_screen(page, selector)
    page.click(".act-resume")
    expect(page.locator("[data-op-status]")).to_have_text("Running")
    page.evaluate("window.scrollTo(0, 0)")
    for selector in ("#op-counters", ".act-pause", ".act-good", ".act-good-n", ".act-scrap"):
        assert_on_first_screen(page, selector)
    screenshot(page, "tablet-layout-operation")

    # The scrap dialog: the same keypad, the quantity field focused without a system keyboard.
    page.click(".act-scrap")
    dialog = page.locator("#dlg-scrap")
    expect(dialog).to_be_visible()
    quantity = dialog.locator("input[name=quantity]")
    assert quantity.get_attribute("inputmode") == "none"
    assert page.evaluate("document.activeElement.name") == "quantity"
    assert_numeric_pad(dialog.locator("[data-keypad]"), [["0"], ["⌫", "Record"]])
    dialog.locator("[data-key='2']").click()
    expect(quantity).to_have_value("2")
    box = dialog.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT, box
    screenshot(page, "tablet-layout-scrap")


def test_checklist_number_keypad_and_limits_read_as_a_person_writes_them(
    asgi_server, tablet_page, make_user, workstation
):
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    author = make_user(roles.QUALITY, username="quinn")
    make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    reasons()
    version = quality.template_create(site=workstation.line.site, code="DIM", title="Dimensions", user=author)
    for item in (
        {
            "kind": "number",
            "prompt": "Pin length",
            "unit": "mm",
            "lsl": "11.97",
            "usl": "12.03",
            "decimals": 2,
        },
        {"kind": "number", "prompt": "Roughness", "unit": "µm", "usl": "1.6", "decimals": 1},
    ):
        quality.item_add(version_id=version.pk, user=author, data=dict(item, required=True))
    quality.version_submit(version_id=version.pk, user=author)
    quality.version_approve(version_id=version.pk, user=author, password="pass-word-1")
    quality.version_make_effective(version_id=version.pk, user=author)
    order = released_order(user=supervisor, workstations=[workstation], quantity=5, number="WO-5802")
    op = order.operations.get()
    OperationChecklist.objects.create(
        routing_operation=op.routing_operation, template=version.template, trigger="at_completion"
    )
    page, base = tablet_page, asgi_server.url
    bind_tablet(page, base, workstation)
    badge_in(page, base, "1001", "2580")
    page.goto(f"{base}/workstation/checklists/operations/{op.pk}/?next=/workstation/operations/{op.pk}/")
    page.click("text=Fill DIM")
    page.wait_for_selector(".q-run")

    length = page.locator(".q-item[data-prompt='Pin length']")
    expect(length.locator("[data-spec]")).to_have_text("11.97\u201312.03 mm")
    expect(page.locator(".q-item[data-prompt='Roughness'] [data-spec]")).to_have_text("≤ 1.6 µm")
    field = length.locator("input.q-num")
    assert field.get_attribute("inputmode") == "none"
    keypad = length.locator("[data-keypad]")
    assert_numeric_pad(keypad, [["±", "0", "."], ["⌫"]])
    for key in "12.04":
        keypad.locator(f"[data-key='{key}']").click()
    keypad.locator("[data-key=clear]").click()
    keypad.locator("[data-key='1']").click()
    expect(field).to_have_value("12.01")
    expect(length.locator("[data-verdict]")).to_have_text("in spec")
    keypad.locator("[data-key='-']").click()
    expect(field).to_have_value("-12.01")
    expect(length.locator("[data-verdict]")).to_have_text("OUT OF SPEC")
    screenshot(page, "tablet-layout-checklist")
