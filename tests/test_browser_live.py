"""The live dashboard in a real browser: an operator's tap in another browser changes the tile
without a reload; stopping the server shows the stale banner; restarting it brings live numbers back."""

import os
import time

import pytest
from playwright.sync_api import expect

from mes import roles
from mes.tests.servers import Uvicorn
from mes.tests.servers import test_database_url as database_url
from tests.conftest import screenshot
from tests.test_browser_tablet import badge_in, bind_tablet
from workorders.tests.factories import reasons, released_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def own_server(django_db_blocker):
    """A server of this test's own, to stop and start (on the same port)."""
    with django_db_blocker.unblock():
        url = database_url()
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": os.environ.get("SECRET_KEY", "e2e-secret"),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "LIVE_HEARTBEAT_SECONDS": "2",
        }
    )
    server = Uvicorn(env, "live-server").start()
    yield server
    server.stop()


def test_dashboard_follows_the_tablet_and_says_when_it_is_stale(
    own_server, browser, tablet_page, make_user, workstation
):
    make_user(roles.SUPERVISOR, username="sam")
    make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    supervisor = make_user(roles.SUPERVISOR, username="sue")
    reasons()
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-5100")
    operation = order.operations.get()
    base = own_server.url

    # The operator's tablet, in its own browser context.
    bind_tablet(tablet_page, base, workstation)
    badge_in(tablet_page, base, "1001", "2580")
    tablet_page.click(".queue-item[data-order='WO-5100']")
    tablet_page.click(".act-start")
    expect(tablet_page.locator("[data-op-status]")).to_have_text("Running")

    # The supervisor's dashboard, in another.
    desk = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = desk.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{base}/login/")
        page.fill("input[name=username]", "sue")
        page.fill("input[name=password]", "pass-word-1")
        page.click("button[type=submit]")
        page.goto(f"{base}/live/sites/{workstation.line.site_id}/")
        tile = page.locator(f".tile[data-line-id='{workstation.line_id}']")
        expect(page.locator("[data-conn]")).to_have_text("Live")
        expect(tile).to_have_attribute("data-state", "running")
        expect(tile.locator("[data-field=good]")).to_have_text("0")
        page.evaluate("window.__samePage = true")

        tablet_page.click(".act-good-n")
        tablet_page.click("#dlg-good [data-key='4']")
        tapped = time.monotonic()
        tablet_page.click("#dlg-good button[type=submit]")
        expect(tile.locator("[data-field=good]")).to_have_text("4", timeout=5_000)
        elapsed = time.monotonic() - tapped
        assert elapsed < 1.0 + 0.5, (
            f"the tile changed {elapsed:.2f} s after the tap"
        )  # 0.5 s: the tap's own round trip
        assert page.evaluate("window.__samePage") is True, "no reload"
        screenshot(page, "live-site-dashboard")

        # The tablet calls for help; the tile flashes and the andon list offers acknowledge.
        tablet_page.click("#andon-box summary")
        tablet_page.click("#andon-box [data-andon-kind='material']")
        expect(tablet_page.locator("#andon-box .andon-called")).to_contain_text("Material")
        expect(tile).to_have_class(__import__("re").compile("andon-flash"))
        page.click("[data-andon-action=acknowledge]")
        expect(page.locator(".andon-item")).to_contain_text("Taken by")

        own_server.stop()
        expect(page.locator("[data-stale]")).to_be_visible(timeout=15_000)
        expect(page.locator("[data-stale-text]")).to_contain_text("Stale since")
        expect(page.locator("body")).to_have_class(__import__("re").compile("live-is-stale"))
        screenshot(page, "live-site-stale")

        own_server.start()
        expect(page.locator("[data-conn]")).to_have_text("Live", timeout=40_000)
        expect(page.locator("[data-stale]")).to_be_hidden()
        expect(tile.locator("[data-field=good]")).to_have_text("4")

        page.goto(f"{base}/live/lines/{workstation.line_id}/?wall=1")
        expect(page.locator("[data-conn]")).to_have_text("Live")
        expect(page.locator(f".station[data-workstation-id='{workstation.pk}']")).to_contain_text("Good 4")
        expect(page.locator(".topbar")).to_have_count(0)
        expect(page.locator("[data-events] .event").first).to_be_visible()
        expect(page.locator(".uplot, [data-chart-box]").first).to_be_visible()
        screenshot(page, "live-line-wall")
        assert operation.pk
    finally:
        desk.close()
