"""A tablet that loses the network for a while, as the operator sees it: one clear offline state,
no alarm about unsaved work while the taps are safely kept, and every tap counted once after."""

import pytest
from playwright.sync_api import expect

from mes import roles
from mes.tests.servers import wait_until
from tests.conftest import screenshot
from tests.test_browser_tablet import SLOW, badge_in, bind_tablet, completions
from workorders import services
from workorders.models import ProductionEvent
from workorders.states import EventKind
from workorders.tests.factories import key, released_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEIGHT = 768
# Every message the page ever shows as a toast, kept even after it fades.
WATCH_TOASTS = """() => {
  window.__toasts = [];
  const box = document.getElementById("toasts");
  new MutationObserver(function (changes) {
    changes.forEach(function (c) {
      c.addedNodes.forEach(function (n) { if (n.textContent) window.__toasts.push(n.textContent); });
    });
  }).observe(box, { childList: true });
}"""


def visible_texts(page, text: str) -> list[str]:
    """The visible elements of the page whose own text mentions `text`."""
    return page.evaluate(
        """(text) => Array.from(document.querySelectorAll("body *")).filter(function (el) {
             const own = Array.from(el.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent).join("");
             const box = el.getBoundingClientRect();
             return own.indexOf(text) >= 0 && box.width > 0 && box.height > 0;
           }).map(el => el.id || el.className)""",
        text,
    )


def test_a_tablet_offline_for_a_while_shows_one_offline_state_and_no_false_alarm(
    asgi_server, tablet_page, make_user, workstation
):
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    operator = make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-4790")
    operation = order.operations.get()
    services.operation_start(operation_id=operation.pk, workstation=workstation, user=operator, key=key())
    page, base = tablet_page, asgi_server.url
    bind_tablet(page, base, workstation)
    badge_in(page, base, "1001", "2580")
    page.click(".queue-item[data-order='WO-4790']")
    expect(page.locator("[data-op-status]")).to_have_text("Running")
    page.evaluate(WATCH_TOASTS)
    expect(page.locator("#offline-note")).to_be_hidden()

    # The Wi-Fi drops; the operator counts one good part.
    page.context.set_offline(True)
    page.click(".act-good")
    expect(page.locator("#connection")).to_have_text("Offline")
    expect(page.locator("#offline-note")).to_have_text(
        "taps are kept here and sent when the connection returns"
    )
    expect(page.locator("#waiting-count")).to_have_text("1")
    expect(page.locator("#tap-status")).to_contain_text("+1 good: kept on this tablet")

    # The background reads go on failing for a while: the counters' poll, the panels refreshed
    # after a tap and the andon box's poll. The box's read is made here as its 20 s poll makes it
    # (the same htmx request into the same box), so the test does not wait on the poll's timer.
    with page.expect_event("requestfailed", lambda r: "/workstation/andon/box/" in r.url, timeout=30_000):
        page.evaluate("htmx.trigger(document.body, 'tablet:refresh')")
        page.evaluate(
            "() => { htmx.ajax('GET', document.querySelector('#andon-box').getAttribute('hx-get'),"
            " {source: '#andon-box', target: '#andon-box', swap: 'outerHTML'}).catch(() => {}); }"
        )
    with page.expect_event("requestfailed", lambda r: f"/workstation/operations/{operation.pk}/" in r.url):
        pass
    screenshot(page, "tablet-offline-one-state")

    toasts = page.evaluate("window.__toasts")
    assert not [t for t in toasts if "not saved" in t], toasts
    assert toasts == [], "a failed background read raises no alarm"
    # One offline state: the badge in the bar and one line saying what happens to the taps.
    assert visible_texts(page, "Offline") == ["connection"]
    note = page.locator("#offline-note").bounding_box()
    badge = page.locator("#connection").bounding_box()
    assert note["x"] >= badge["x"] + badge["width"], "the note reads after the badge"
    assert note["y"] < badge["y"] + badge["height"] and badge["y"] < note["y"] + note["height"], "on one line"
    bar = page.locator("#waiting").bounding_box()
    assert bar["y"] <= note["y"] and note["y"] + note["height"] <= bar["y"] + bar["height"] <= HEIGHT
    # The page's end stays clear of the taller bar: the last card scrolls above it.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    last = page.locator(".op-layout > *").last.bounding_box()
    assert last["y"] + last["height"] <= page.locator("#waiting").bounding_box()["y"]
    page.evaluate("window.scrollTo(0, 0)")
    assert completions(operation) == 0

    # The network returns: online again, the tap counted once, still no alarm.
    page.context.set_offline(False)
    expect(page.locator("#waiting-count")).to_have_text("0", timeout=SLOW)
    expect(page.locator("[data-counter=good]")).to_have_text("1", timeout=SLOW)
    expect(page.locator("#connection")).to_have_text("Online")
    expect(page.locator("#offline-note")).to_be_hidden()
    assert completions(operation) == 1
    assert page.evaluate("window.__toasts") == []


KEPT = "mes-tablet-v1"


def kept(page, url: str) -> bool:
    """Whether the tablet's service worker holds a copy of the page at `url`."""
    return page.evaluate(
        f"caches.open('{KEPT}').then(c => c.match({url!r}, {{ignoreVary: true}})).then(r => !!r)"
    )


def test_a_tablet_reloaded_offline_still_shows_its_screen_and_keeps_taps(
    asgi_server, tablet_page, make_user, workstation
):
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    operator = make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-4791")
    operation = order.operations.get()
    services.operation_start(operation_id=operation.pk, workstation=workstation, user=operator, key=key())
    page, base = tablet_page, asgi_server.url
    bind_tablet(page, base, workstation)
    badge_in(page, base, "1001", "2580")
    page.click(".queue-item[data-order='WO-4791']")
    expect(page.locator("[data-op-status]")).to_have_text("Running")
    # The service worker, registered under /workstation/, has kept this screen.
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    wait_until(lambda: kept(page, page.url), 15, "the operation screen was never kept")

    # Offline, a tap waits; then the tablet is reloaded, still offline.
    page.context.set_offline(True)
    page.click(".act-good")
    expect(page.locator("#waiting-count")).to_have_text("1")
    page.reload()

    # The same screen, as the operator left it: the order, its counters, the waiting tap.
    expect(page.locator(".op-order")).to_have_text("WO-4791")
    expect(page.locator("[data-op-status]")).to_have_text("Running")
    expect(page.locator("#waiting-count")).to_have_text("1")
    expect(page.locator("[data-pending=good]")).to_have_text("+1 waiting")
    expect(page.locator("#connection")).to_have_text("Offline")
    bar = page.locator("#waiting").bounding_box()
    for selector in (".act-good", ".act-pause"):  # on the first screen, above the bar
        box = page.locator(selector).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= bar["y"] <= HEIGHT, (selector, box, bar)
    page.locator("#op-counters").scroll_into_view_if_needed()  # the counters: clear of the bar
    box = page.locator("#op-counters").bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= page.locator("#waiting").bounding_box()["y"], box
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "tablet-offline-reloaded")

    # It keeps taking taps, each with its own key, in the same waiting list.
    page.click(".act-good")
    expect(page.locator("#waiting-count")).to_have_text("2")
    stored = page.evaluate(f"JSON.parse(localStorage.getItem('mes.waiting.workstation.{workstation.pk}'))")
    assert [t["kind"] for t in stored] == ["good", "good"]
    # Not asserted: that nothing reached the server meanwhile. Chromium's offline emulation does
    # not hold back a request the service worker's page lets through on reload, so the first tap
    # may already be stored; its key then makes the resend below count it once all the same.

    # The network returns: both are counted, once each, with the keys made on the tablet.
    page.context.set_offline(False)
    expect(page.locator("#waiting-count")).to_have_text("0", timeout=SLOW)
    expect(page.locator("[data-counter=good]")).to_have_text("2", timeout=SLOW)
    sent = ProductionEvent.objects.filter(operation=operation, kind=EventKind.GOOD).order_by("id")
    assert [str(e.idempotency_key) for e in sent] == [t["key"] for t in stored]

    # Signing out forgets the kept screens: the next person never sees this one's.
    page.click("text=Sign out")
    page.wait_for_url(f"{base}/tablet/sign-in/**")
    wait_until(lambda: not page.evaluate(f"caches.has('{KEPT}')"), 15, "the kept screens were not forgotten")


def test_taps_a_tablet_kept_before_the_upgrade_are_sent_once_after_it(
    asgi_server, tablet_page, make_user, workstation
):
    """An upgrade renamed the tablet's store of waiting taps (and the word for good units); taps
    waiting on a tablet at that moment, stored the earlier way, are sent and counted once."""
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    operator = make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-4792")
    operation = order.operations.get()
    services.operation_start(operation_id=operation.pk, workstation=workstation, user=operator, key=key())
    page, base = tablet_page, asgi_server.url
    bind_tablet(page, base, workstation)
    badge_in(page, base, "1001", "2580")
    earlier = [
        {"key": str(key()), "kind": "complete", "operation": str(operation.pk), "quantity": "3", "reason": "",
         "lot": "", "label": "+3 good", "occurred_at": "", "user": str(operator.pk), "userName": "olga",
         "attempts": 0, "error": ""},
    ]  # fmt: skip
    page.evaluate(
        "([name, taps]) => localStorage.setItem(name, JSON.stringify(taps))",
        [f"mes.outbox.workstation.{workstation.pk}", earlier],
    )
    page.goto(f"{base}/workstation/operations/{operation.pk}/")  # the new page finds what it left
    expect(page.locator("[data-counter=good]")).to_have_text("3", timeout=SLOW)
    expect(page.locator("#waiting-count")).to_have_text("0", timeout=SLOW)
    assert page.evaluate(f"localStorage.getItem('mes.outbox.workstation.{workstation.pk}')") is None
    page.reload()
    expect(page.locator("[data-counter=good]")).to_have_text("3", timeout=SLOW)
    sent = ProductionEvent.objects.filter(operation=operation, kind=EventKind.GOOD)
    assert [str(e.idempotency_key) for e in sent] == [earlier[0]["key"]]
