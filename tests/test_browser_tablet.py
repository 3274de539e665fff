"""The operator's tablet in a real browser: production taps reach the supervisor's board, and taps
made offline wait on the tablet and are counted once when the network returns."""

import pytest
from playwright.sync_api import expect

from mes import roles
from tests.conftest import screenshot
from workorders import services
from workorders.models import ProductionEvent
from workorders.states import EventKind
from workorders.tests.factories import key, reasons, released_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 30_000  # ms: a retry after the network returns waits at most one backoff step


def bind_tablet(page, base, workstation, supervisor="sam"):
    """A supervisor binds this tablet to the workstation, then signs out."""
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", supervisor)
    page.fill("input[name=password]", "pass-word-1")
    page.click("button[type=submit]")
    page.goto(f"{base}/tablets/")
    page.check(f"input[name=workstation][value='{workstation.pk}']")
    page.fill("input[name=name]", f"Tablet at {workstation.code}")
    page.click("text=Bind to workstation")
    page.wait_for_selector("text=This tablet is now bound to")
    page.click("text=Sign out")


def badge_in(page, base, badge, pin):
    page.goto(f"{base}/")
    page.fill("input[name=badge_number]", badge)
    page.click("input[name=pin]")
    for digit in pin:
        page.click(f"[data-keypad] [data-key='{digit}']")
    page.click("[data-keypad] button[type=submit]")
    page.wait_for_url(f"{base}/workstation/")


def assert_touch_targets(page, selector):
    buttons = page.locator(selector)
    assert buttons.count() > 0
    for i in range(buttons.count()):
        if not buttons.nth(i).is_visible():
            continue
        box = buttons.nth(i).bounding_box()
        assert box["width"] >= 48 and box["height"] >= 48, f"{selector} #{i} is {box}"


def completions(operation) -> int:
    return ProductionEvent.objects.filter(operation=operation, kind=EventKind.GOOD).count()


def test_operator_records_production_and_the_supervisor_board_shows_it(
    asgi_server, browser, tablet_page, make_user, workstation
):
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    reasons()
    released_order(user=supervisor, workstations=[workstation], quantity=20, number="WO-4710")
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-4711")
    operation = order.operations.get()
    page, base = tablet_page, asgi_server.url

    bind_tablet(page, base, workstation)
    badge_in(page, base, "1001", "2580")

    # The queue lists this workstation's work; tapping an order opens its operation in place.
    queue = page.locator(".queue-item")
    expect(queue).to_have_count(2)
    assert_touch_targets(page, ".queue-item, #downtime-banner .btn")
    screenshot(page, "tablet-queue")
    page.evaluate("window.__samePage = true")
    page.click(".queue-item[data-order='WO-4711']")
    expect(page.locator("#op-counters")).to_be_visible()
    assert page.url == f"{base}/workstation/operations/{operation.pk}/"
    assert page.evaluate("window.__samePage") is True, "no full-page reload after the first"

    page.click(".act-start")
    expect(page.locator("#tap-status")).to_contain_text("Saved: Start")
    expect(page.locator("[data-op-status]")).to_have_text("Running")
    assert_touch_targets(page, ".op-actions .btn, .op-top .btn")

    page.click(".act-good-n")
    page.click("#dlg-good [data-key='5']")
    page.click("#dlg-good button[type=submit]")
    expect(page.locator("[data-counter=good]")).to_have_text("5")
    expect(page.locator("#tap-status")).to_contain_text("Saved: +5 good")

    page.click(".act-scrap")
    expect(page.locator("#dlg-scrap")).to_be_visible()
    page.click("#dlg-scrap [data-key='1']")
    page.click("#dlg-scrap label:has-text('Scratched surface')")
    assert_touch_targets(page, "#dlg-scrap .key, #dlg-scrap .reason")
    screenshot(page, "tablet-scrap-picker")
    page.click("#dlg-scrap button[type=submit]")
    expect(page.locator("[data-counter=scrap]")).to_have_text("1")
    expect(page.locator("[data-counter=left]")).to_have_text("5")

    page.click(".act-pause")
    page.click("#dlg-pause [data-reason='BREAK']")
    expect(page.locator("[data-op-status]")).to_have_text("Paused")
    expect(page.locator(".act-resume")).to_be_visible()
    expect(page.locator("#waiting-count")).to_have_text("0")
    screenshot(page, "tablet-operation-paused")
    page.set_viewport_size({"width": 768, "height": 1024})
    assert_touch_targets(page, ".op-actions .btn, .op-top .btn")
    screenshot(page, "tablet-operation-portrait")
    page.set_viewport_size({"width": 1024, "height": 768})

    kinds = list(ProductionEvent.objects.filter(operation=operation).values_list("kind", flat=True))
    assert kinds == ["start", "complete", "scrap", "pause"]
    pause = ProductionEvent.objects.get(operation=operation, kind=EventKind.PAUSE)
    assert pause.reason.code == "BREAK"

    # The supervisor, at a desk in another browser, sees the counts on the board.
    desk = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        board = desk.new_page()
        board.goto(f"{base}/login/")
        board.fill("input[name=username]", "sam")
        board.fill("input[name=password]", "pass-word-1")
        board.click("button[type=submit]")
        board.goto(f"{base}/board/")
        row = board.locator("tr[data-order='WO-4711']")
        expect(row.locator(".good")).to_have_text("5")
        expect(row.locator(".scrap")).to_have_text("1")
        screenshot(board, "tablet-supervisor-board")
    finally:
        desk.close()


def test_taps_made_offline_wait_and_are_counted_once(asgi_server, tablet_page, make_user, workstation):
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    operator = make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-4712")
    operation = order.operations.get()
    services.operation_start(operation_id=operation.pk, workstation=workstation, user=operator, key=key())
    page, base = tablet_page, asgi_server.url
    bind_tablet(page, base, workstation)
    badge_in(page, base, "1001", "2580")
    page.click(".queue-item[data-order='WO-4712']")
    expect(page.locator("[data-op-status]")).to_have_text("Running")

    # The Wi-Fi drops: three taps wait on the tablet, visibly, and nothing reaches the server.
    page.context.set_offline(True)
    for _ in range(3):
        page.click(".act-good")
    expect(page.locator("#waiting-count")).to_have_text("3")
    expect(page.locator("#waiting")).to_contain_text("waiting to send")
    expect(page.locator("#waiting-list li")).to_have_count(3)
    expect(page.locator("[data-pending=good]")).to_have_text("+3 waiting")
    stored = page.evaluate(f"JSON.parse(localStorage.getItem('mes.waiting.workstation.{workstation.pk}'))")
    assert [t["kind"] for t in stored] == ["good"] * 3
    assert len({t["key"] for t in stored}) == 3
    page.wait_for_timeout(1500)  # a retry or two while offline
    assert completions(operation) == 0
    screenshot(page, "tablet-offline-waiting")

    # The network returns: the taps are sent, in order, once each.
    page.context.set_offline(False)
    expect(page.locator("#waiting-count")).to_have_text("0", timeout=SLOW)
    expect(page.locator("[data-counter=good]")).to_have_text("3", timeout=SLOW)
    assert completions(operation) == 3
    sent = ProductionEvent.objects.filter(operation=operation, kind=EventKind.GOOD).order_by("id")
    assert [str(e.idempotency_key) for e in sent] == [t["key"] for t in stored]

    # A tap reaches the server but its answer is lost: the resend with the same key counts once.
    seen = []

    def lose_the_first_answer(route):
        seen.append(route.request.post_data)
        if len(seen) == 1:
            route.fetch()  # the server records the tap...
            route.abort()  # ...and the tablet never hears back
        else:
            route.continue_()

    page.route("**/workstation/events/", lose_the_first_answer)
    page.click(".act-good")
    expect(page.locator("#tap-status")).to_contain_text("Saved: +1 good", timeout=SLOW)
    expect(page.locator("#waiting-count")).to_have_text("0")
    expect(page.locator("[data-counter=good]")).to_have_text("4")
    assert len(seen) == 2 and seen[0] == seen[1], "the resend carries the same idempotency key"
    assert completions(operation) == 4
    screenshot(page, "tablet-after-reconnect")


def test_a_supervisor_allows_counting_over_the_order_quantity_at_the_tablet(
    asgi_server, tablet_page, make_user, workstation
):
    supervisor = make_user(roles.SUPERVISOR, username="sam", badge=("2001", "4321"))
    operator = make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-4713")
    operation = order.operations.get()
    services.operation_start(operation_id=operation.pk, workstation=workstation, user=operator, key=key())
    services.operation_record_good(
        operation_id=operation.pk, workstation=workstation, user=operator, quantity=8, key=key()
    )
    page, base = tablet_page, asgi_server.url
    bind_tablet(page, base, workstation)
    badge_in(page, base, "1001", "2580")
    page.click(".queue-item[data-order='WO-4713']")
    expect(page.locator("[data-counter=left]")).to_have_text("2")

    page.click(".act-good-n")
    page.click("#dlg-good [data-key='3']")
    page.click("#dlg-good button[type=submit]")

    # Refused as over the quantity: the supervisor's badge and PIN allow it.
    dialog = page.locator("#dlg-override")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-override-message]")).to_contain_text("Only 2 left")
    expect(page.locator("#tap-status")).to_contain_text("Refused: +3 good")
    dialog.locator("input[name=badge_number]").fill("2001")
    dialog.locator("input[name=pin]").click()
    for digit in "9999":
        dialog.locator(f"[data-key='{digit}']").click()
    dialog.locator("button[type=submit]").click()
    # PINs are checked with the real password hasher: slow by design.
    expect(dialog.locator("[data-form-error]")).to_contain_text("Badge or PIN is not right", timeout=SLOW)
    for digit in "4321":
        dialog.locator(f"[data-key='{digit}']").click()
    screenshot(page, "tablet-override")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden(timeout=SLOW)
    expect(page.locator("#tap-status")).to_contain_text("Saved with supervisor's approval: +3 good")
    expect(page.locator("[data-counter=good]")).to_have_text("11")

    event = ProductionEvent.objects.get(operation=operation, kind=EventKind.GOOD, quantity=3)
    assert (event.user, event.override_by) == (operator, supervisor)
