"""The tablet's queue at 1024x768, measured as the operator sees it: what is due at the workstation
(forms), a second order started while one runs, and a bound tablet's sign-in page."""

import time
import uuid
from datetime import timedelta
from importlib import import_module

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from mes import roles
from quality import selectors as quality_selectors
from quality import services as quality
from quality.tests.conftest import answers_for, make_effective
from tests.conftest import screenshot
from tests.test_browser_tablet import SLOW, badge_in, bind_tablet
from workorders import services
from workorders.models import ProductionEvent
from workorders.tests.factories import reasons, released_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEIGHT = 768
RED = "rgb(185, 28, 28)"  # --bad, the board's overdue red


def box_of(page, selector):
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    return box


def test_forms_due_show_on_the_queue_with_a_count_that_leads_to_the_forms(
    asgi_server, tablet_page, make_user, workstation
):
    make_user(roles.SUPERVISOR, username="sam")
    engineer = make_user(roles.QUALITY, username="quinn")
    operator = make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    site = workstation.line.site
    shift = make_effective(site=site, author=engineer, approver=engineer, code="SHIFT")
    daily = make_effective(site=site, author=engineer, approver=engineer, code="CLEAN")
    # Weekly on yesterday's weekday: due since yesterday, so certainly overdue; daily: due today.
    yesterday = (timezone.localtime(timezone.now(), site.tzinfo) - timedelta(days=1)).isoweekday()
    late = quality.form_assign(
        template=shift, schedule="weekly", weekday=yesterday, workstation=workstation, user=engineer
    )
    quality.form_assign(template=daily, schedule="daily", workstation=workstation, user=engineer)
    # The selector's order (late first, then by code) and the daily form's lateness (it turns
    # late an hour after the site's midnight).
    due = [f for f in quality_selectors.forms_for(workstation) if f.due_since is not None]
    shown = [f.assignment.template.title + (" · overdue" if f.overdue else "") for f in due]
    assert "Checklist SHIFT · overdue" in shown
    page, base = tablet_page, asgi_server.url
    bind_tablet(page, base, workstation)
    badge_in(page, base, "1001", "2580")

    # On the queue, before the list: "Forms due 2", naming each, the overdue one in red.
    reminder = page.locator("[data-reminder=forms]")
    expect(reminder.locator("[data-reminder-count]")).to_have_text("2")
    expect(reminder.locator(".reminder-label")).to_have_text("Forms due 2")
    items = reminder.locator("[data-reminder-item]")
    expect(items).to_have_text(shown)
    for i, text in enumerate(shown):
        color = items.nth(i).evaluate("el => getComputedStyle(el).color")
        assert (color == RED) == text.endswith("overdue"), (text, color)
    assert reminder.evaluate("el => getComputedStyle(el).borderTopColor") == RED
    # Where a person looks first: on the first screen, above the queue, big enough for a glove.
    found = box_of(page, "[data-reminder=forms]")
    queue = box_of(page, ".queue-card")
    bar = box_of(page, "#waiting")
    assert found["height"] >= 48 and found["width"] >= 200, found
    assert found["y"] >= 0 and found["y"] + found["height"] <= queue["y"], (found, queue)
    assert found["y"] + found["height"] <= bar["y"] <= HEIGHT
    count = box_of(page, "[data-reminder=forms] [data-reminder-count]")
    assert found["x"] <= count["x"] and count["x"] + count["width"] <= found["x"] + found["width"]
    screenshot(page, "tablet-queue-forms-due")

    # Tapping it opens the forms page, where the same forms wait to be filled.
    reminder.click()
    page.wait_for_url(f"{base}/workstation/checklists/forms/")
    expect(page.locator(".q-need.q-overdue", has_text="Checklist SHIFT")).to_have_count(1)

    # Once the overdue form is filled, the queue counts one.
    quality.checklist_run_submit(
        key=uuid.uuid4(),
        user=operator,
        workstation=workstation,
        template=shift,
        answers=answers_for(shift),
        assignment=late,
    )
    page.click("text=← Queue")
    page.wait_for_url(f"{base}/workstation/")
    expect(reminder.locator("[data-reminder-count]")).to_have_text("1")
    expect(items).to_have_text([t for t in shown if "SHIFT" not in t])


def test_no_reminder_shows_when_nothing_is_due(asgi_server, tablet_page, make_user, workstation):
    make_user(roles.SUPERVISOR, username="sam")
    engineer = make_user(roles.QUALITY, username="quinn")
    make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    ask = make_effective(site=workstation.line.site, author=engineer, approver=engineer, code="ASK")
    quality.form_assign(template=ask, schedule="on_demand", workstation=workstation, user=engineer)
    page, base = tablet_page, asgi_server.url
    bind_tablet(page, base, workstation)
    badge_in(page, base, "1001", "2580")
    expect(page.locator(".queue-card")).to_be_visible()
    expect(page.locator("[data-reminder]")).to_have_count(0)
    assert box_of(page, "#ws-reminders")["height"] == 0


def test_starting_a_second_order_asks_to_pause_the_running_one_and_the_tile_shows_both(
    asgi_server, browser, tablet_page, make_user, workstation
):
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    operator = make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    reasons()
    first = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-6101")
    second = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-6102")
    running = first.operations.get()
    services.operation_start(
        operation_id=running.pk, workstation=workstation, user=operator, key=uuid.uuid4()
    )
    page, base = tablet_page, asgi_server.url
    bind_tablet(page, base, workstation)
    badge_in(page, base, "1001", "2580")
    page.click(".queue-item[data-order='WO-6102']")
    expect(page.locator("[data-op-status]")).to_have_text("Not started")

    # Start asks first: WO-6101 runs here; pause it (why?) or cancel. Nothing is sent yet.
    page.click(".act-start")
    dialog = page.locator("#dlg-busy")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#dlg-busy-title")).to_have_text(f"Another order is running at {workstation.code}")
    expect(dialog.locator("[data-running-op]")).to_have_text(
        [f"WO-6101 · operation 10 {running.name} · running"]
    )
    expect(dialog).to_contain_text("Pause WO-6101 and start WO-6102?")
    box = dialog.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT, box
    for i in range(dialog.locator(".btn").count()):
        button = dialog.locator(".btn").nth(i).bounding_box()
        assert button["height"] >= 48 and button["width"] >= 48, button
    screenshot(page, "tablet-second-order-asks")

    # Cancel: nothing recorded, the first order still runs.
    dialog.locator("text=Cancel: don't start").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("[data-op-status]")).to_have_text("Not started")
    assert ProductionEvent.objects.filter(operation__work_order=second).count() == 0

    # Pause for a break and start: the first is paused, the second runs, in that order.
    page.click(".act-start")
    dialog.locator("[data-reason=BREAK]").click()
    expect(page.locator("[data-op-status]")).to_have_text("Running", timeout=SLOW)
    expect(page.locator("#tap-status")).to_contain_text("Saved: Start")
    running.refresh_from_db()
    assert running.status == "paused"
    kinds = list(
        ProductionEvent.objects.filter(kind__in=["pause", "start"], workstation=workstation)
        .order_by("id")
        .values_list("kind", "operation__work_order__number")
    )
    assert kinds[-2:] == [("pause", "WO-6101"), ("start", "WO-6102")]
    assert ProductionEvent.objects.get(kind="pause").reason.code == "BREAK"

    # The supervisor's dashboard names both orders on the line's card, with their state.
    desk = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        board = desk.new_page()
        board.goto(f"{base}/login/")
        board.fill("input[name=username]", "sam")
        board.fill("input[name=password]", "pass-word-1")
        board.click("button[type=submit]")
        board.goto(f"{base}/live/sites/{workstation.line.site_id}/")
        tile = board.locator(f".tile[data-line-id='{workstation.line_id}']")
        orders = tile.locator("[data-part=orders] li")
        expect(orders).to_have_text(
            [f"WO-6101 · {workstation.code} · paused", f"WO-6102 · {workstation.code} · running"]
        )
        card = tile.bounding_box()
        for i in range(2):
            line = orders.nth(i).bounding_box()
            assert card["x"] <= line["x"] and line["x"] + line["width"] <= card["x"] + card["width"], line
            assert card["y"] <= line["y"] and line["y"] + line["height"] <= card["y"] + card["height"], line
        screenshot(board, "live-tile-two-orders")
    finally:
        desk.close()


def session_of(page):
    cookie = next(c for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME)
    return import_module(settings.SESSION_ENGINE).SessionStore(cookie["value"])


def assert_badge_sign_in(page, base, timeout=10_000):
    """The badge sign-in, as a person sees it: badge and PIN fields and the keypad on the first
    screen, and no desk password field."""
    page.wait_for_url(f"{base}/tablet/sign-in/**", timeout=timeout)
    expect(page.locator("input[name=badge_number]")).to_be_visible()
    expect(page.locator("input[name=password]")).to_have_count(0)
    for selector in ("input[name=badge_number]", "input[name=pin]", "[data-keypad]"):
        box = box_of(page, selector)
        assert box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT, (selector, box)


def test_a_bound_tablet_opens_on_the_badge_sign_in_when_a_session_idles_or_ends(
    asgi_server, tablet_page, make_user, workstation
):
    make_user(roles.SUPERVISOR, username="sam")
    make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    page, base = tablet_page, asgi_server.url
    bind_tablet(page, base, workstation)

    # A supervisor's desk session on the tablet sits idle past its limit.
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "sam")
    page.fill("input[name=password]", "pass-word-1")
    page.click("button[type=submit]")
    page.goto(f"{base}/board/")
    session = session_of(page)
    session["mes_last_seen"] = time.time() - settings.DESK_IDLE_TIMEOUT_SECONDS - 60
    session.save()
    page.goto(f"{base}/board/")
    assert_badge_sign_in(page, base)
    assert "expired=1" in page.url

    # An operator's session ends (removed at the server) while the queue is on screen: the next
    # poll brings the badge sign-in, not a desk login and no fragment of one.
    badge_in(page, base, "1001", "2580")
    session_of(page).delete()
    assert_badge_sign_in(page, base, timeout=SLOW)  # the queue polls every 10 s
    screenshot(page, "tablet-session-ended")

    # A page opened after the session ended goes there too.
    page.goto(f"{base}/workstation/")
    assert_badge_sign_in(page, base)
