"""What a supervisor sees, measured in a real browser: the wall screen holds every line of the site
on one 1440x900 or 1920x1080 screen in type read from 5 m; help calls and the shift say what each
number is, in the site's time; the desk pages fit a 1024 px screen (one row of navigation, the
board's actions on screen, targets a finger can hit), a hold reason is chosen, never preselected,
and a tablet is bound by tapping a workstation, without typing."""

import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mes import roles
from mes.models import Shift, Tablet
from mes.tests.factories import LineFactory, WorkstationFactory
from tests.conftest import screenshot
from workorders.services.andon import andon_raise
from workorders.tests.factories import reasons, released_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Readable from 5 m: the figures at least this tall (px), every other text of a tile at least 24 px.
FIGURE_PX = 48
TEXT_PX = 24
TAP_PX = 44


def sign_in(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pass-word-1")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/(board|live|workstation|plant)/.*"))


@pytest.fixture
def desk(browser):
    """A desk browser of the size the test asks for."""
    contexts = []

    def open_(width, height):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_
    for context in contexts:
        context.close()


def plant_lines(site, count):
    lines = [LineFactory(site=site, code=f"LINE{i}", name=f"Final assembly {i}") for i in range(1, count + 1)]
    for line in lines:
        WorkstationFactory(line=line, code=f"{line.code}-WS", name="Bench")
    return lines


def small_targets(page, selector):
    """The visible elements of `selector` smaller than a finger's tap target, as (text, w, h)."""
    return page.evaluate(
        """([selector, px]) => [...document.querySelectorAll(selector)]
             .filter(e => e.offsetParent !== null)
             .map(e => { const r = e.getBoundingClientRect();
                         return [(e.textContent || e.getAttribute('aria-label') || '').trim().slice(0, 30),
                                 Math.round(r.width), Math.round(r.height)]; })
             .filter(([, w, h]) => w < px || h < px)""",
        [selector, TAP_PX],
    )


@pytest.mark.parametrize(
    ("width", "height", "count"),
    [(1440, 900, 3), (1920, 1080, 3), (1440, 900, 6)],
    ids=["1440x900-3-lines", "1920x1080-3-lines", "1440x900-6-lines"],
)
def test_the_wall_screen_shows_every_line_of_the_site_on_one_screen_read_from_5_m(
    asgi_server, desk, make_user, site, width, height, count
):
    make_user(roles.SUPERVISOR, username="sue")
    lines = plant_lines(site, count)
    page = desk(width, height)
    sign_in(page, asgi_server.url, "sue")

    # The wall screen's settings survive the way in: /live/ picks the site and keeps ?wall=1.
    page.goto(f"{asgi_server.url}/live/?wall=1")
    assert page.url.endswith(f"/live/sites/{site.pk}/?wall=1")
    expect(page.locator("[data-conn]")).to_have_text("Live")
    expect(page.locator(".topbar")).to_have_count(0)
    tiles = page.locator(".tile[data-line-id]")
    expect(tiles).to_have_count(count)
    expect(tiles.last.locator("[data-field=good]")).to_have_text("0")
    screenshot(page, f"wall-{width}x{height}-{count}-lines")

    assert page.evaluate("document.documentElement.scrollHeight") <= height
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for i, line in enumerate(lines):
        tile = tiles.nth(i)
        box = tile.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"{line.code} is off the screen: {box}"
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{line.code} is off the screen: {box}"
        sizes = tile.evaluate(
            """t => [...t.querySelectorAll('*')]
                 .filter(e => e.offsetParent !== null && e.childElementCount === 0 && e.textContent.trim())
                 .map(e => [e.dataset.field || e.className, parseFloat(getComputedStyle(e).fontSize)])"""
        )
        figures = [px for field, px in sizes if field in ("good", "scrap", "oee")]
        assert len(figures) == 3 and min(figures) >= FIGURE_PX, (line.code, sizes)
        assert min(px for _, px in sizes) >= TEXT_PX, (line.code, sizes)
        for field in ("good", "scrap", "oee"):
            figure = tile.locator(f"[data-field={field}]").bounding_box()
            assert figure["y"] >= box["y"] and figure["y"] + figure["height"] <= box["y"] + box["height"]
            assert figure["x"] + figure["width"] <= box["x"] + box["width"], (line.code, field)


def test_a_help_call_and_the_shift_say_what_each_time_is_in_the_site_zone(
    asgi_server, desk, make_user, site, workstation
):
    make_user(roles.SUPERVISOR, username="sue")
    operator = make_user(roles.OPERATOR, username="olga")
    zone = site.tzinfo
    now = timezone.now().astimezone(zone)
    start = (now - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    end = start + timedelta(hours=8)
    Shift.objects.create(
        site=site, name="B", start_time=start.time(), end_time=end.time(), weekdays="1234567"
    )
    raised = now - timedelta(minutes=41, seconds=5)
    andon_raise(workstation=workstation, user=operator, kind="help", key=uuid.uuid4(), raised_at=raised)

    page = desk(1440, 900)
    sign_in(page, asgi_server.url, "sue")
    page.goto(f"{asgi_server.url}/live/sites/{site.pk}/")
    expect(page.locator("[data-conn]")).to_have_text("Live")

    hours = f"{start:%H:%M}\u2013{end:%H:%M}"  # an en dash
    expect(page.locator("[data-window]")).to_have_text(f"Shift “B” ({hours}) started {start:%H:%M}")
    call = page.locator(".andon-item").first
    expect(call).to_contain_text(re.compile(f"since {raised:%H:%M} · open 4[12] min"))
    assert not re.search(r"\d\d:\d\d \d+:\d\d", call.inner_text()), call.inner_text()


def test_the_board_fits_1024_px_with_one_row_of_navigation_and_a_hold_reason_to_choose(
    asgi_server, desk, make_user, workstation
):
    supervisor = make_user(roles.SUPERVISOR, username="sue")
    reasons()
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-7700")
    page = desk(1024, 768)
    sign_in(page, asgi_server.url, "sue")
    page.goto(f"{asgi_server.url}/board/")
    screenshot(page, "board-1024")

    topbar = page.locator(".topbar").bounding_box()
    assert topbar["height"] <= 64, f"the navigation wraps: {topbar}"
    expect(page.locator(".topbar .tz")).to_have_text("Times: Europe/Berlin")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    row = page.locator(f"#order-{order.pk}")
    actions = row.locator("td.actions").bounding_box()
    assert actions["x"] + actions["width"] <= 1024, f"the Actions column is cut off: {actions}"
    assert (
        small_targets(
            page,
            f".topbar a, .topbar summary, .topbar button, #order-{order.pk} button, #order-{order.pk} select",
        )
        == []
    )

    # No hold reason is preselected: Hold without one is stopped in the browser, nothing is sent.
    reason = row.locator("select[name=reason_code]")
    expect(reason).to_have_value("")
    assert reason.evaluate("s => s.required")
    row.locator("button[value=on_hold]").click()
    expect(row.locator(".status-pill")).to_have_text("Released")
    assert reason.evaluate("s => s.validationMessage")
    reason.select_option(index=1)
    with page.expect_response(f"**/board/orders/{order.pk}/transition/") as answer:
        row.locator("button[value=on_hold]").click()
    assert answer.value.status == 200, answer.value.text()
    expect(page.locator(f"#order-{order.pk} .status-pill")).to_have_text("On hold")


def test_a_tablet_is_bound_by_tapping_a_workstation_that_shows_its_queued_work(
    asgi_server, desk, make_user, site, workstation
):
    supervisor = make_user(roles.SUPERVISOR, username="sue")
    idle = WorkstationFactory(line=workstation.line, code="IDLE1", name="Spare bench")
    released_order(user=supervisor, workstations=[workstation], quantity=5, number="WO-7800")
    page = desk(1024, 768)
    sign_in(page, asgi_server.url, "sue")
    page.goto(f"{asgi_server.url}/tablets/")

    busy = page.locator("label.ws-option", has_text=workstation.code)
    expect(busy).to_contain_text("1 operation queued")
    expect(page.locator("label.ws-option", has_text=idle.code)).to_contain_text("No work queued")
    assert small_targets(page, "label.ws-option, .topbar a, .topbar summary, .topbar button, form .btn") == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024

    busy.click()
    page.click("text=Bind to workstation")
    expect(page.locator(".toast")).to_contain_text("This tablet is now bound to")
    tablet = Tablet.objects.get(workstation=workstation, revoked_at__isnull=True)
    assert tablet.name == f"Tablet at {workstation.line.code}/{workstation.code}"
