"""A checklist filled on a tablet through a network drop: the values typed survive a reload
without a network, a submit made offline waits on the tablet with its idempotency key and is
stored once when the connection returns, and nothing of it stays on the tablet after."""

import json
import uuid

import pytest
from playwright.sync_api import expect

from mes import roles
from mes.tests.servers import wait_until
from quality import services as quality
from quality.models import ChecklistResponse, ChecklistRun, OperationChecklist
from tests.conftest import screenshot
from tests.test_browser_tablet import SLOW, badge_in, bind_tablet
from tests.test_browser_tablet_offline import KEPT, kept
from workorders import services as production
from workorders.tests.factories import released_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pass-word-1"
ITEMS = [
    {"kind": "check", "prompt": "Work area clean"},
    {
        "kind": "number",
        "prompt": "Bore diameter",
        "unit": "mm",
        "lsl": "24.95",
        "usl": "25.05",
        "decimals": 2,
    },
    {
        "kind": "number",
        "prompt": "Flange thickness",
        "unit": "mm",
        "lsl": "7.90",
        "usl": "8.10",
        "decimals": 2,
    },
    {"kind": "choice", "prompt": "Gauge used", "choices": ["Caliper", "Micrometer"]},
    {"kind": "text", "prompt": "Remarks"},
]
MESSAGE = "Saved on this tablet, will be sent when the connection returns."
# What the tablet keeps of checklists (an empty queue is nothing kept).
KEPT_NAMES = "Object.keys(localStorage).filter(k => k.startsWith('mes.checklist.') && localStorage.getItem(k) !== '[]')"


def effective_template(site, author):
    version = quality.template_create(site=site, code="FAI", title="First article check", user=author)
    for item in ITEMS:
        quality.item_add(version_id=version.pk, user=author, data=dict(item, required=True))
    quality.version_submit(version_id=version.pk, user=author)
    quality.version_approve(version_id=version.pk, user=author, password=PASSWORD)
    quality.version_make_effective(version_id=version.pk, user=author)
    return version.template


def asset_kept(page, name: str) -> bool:
    return page.evaluate(
        f"caches.open('{KEPT}').then(c => c.keys()).then(ks => ks.some(r => r.url.includes({name!r})))"
    )


def test_a_checklist_filled_and_submitted_offline_is_kept_then_stored_once(
    asgi_server, tablet_page, make_user, workstation
):
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    author = make_user(roles.QUALITY, username="quinn")
    operator = make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    template = effective_template(workstation.line.site, author)
    order = released_order(user=supervisor, workstations=[workstation], quantity=5, number="WO-C1")
    op = order.operations.get()
    OperationChecklist.objects.create(
        routing_operation=op.routing_operation, template=template, trigger="at_completion"
    )
    production.operation_start(operation_id=op.pk, workstation=workstation, user=operator, key=uuid.uuid4())
    run = quality.checklist_run_start(
        template=template, workstation=workstation, user=operator, operation_id=op.pk, trigger="at_completion"
    )
    other = quality.checklist_run_start(template=template, workstation=workstation, user=operator)

    page, base = tablet_page, asgi_server.url
    bind_tablet(page, base, workstation)
    badge_in(page, base, "1001", "2580")
    page.click(".queue-item[data-order='WO-C1']")  # the operation screen registers the service worker
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    back = f"/workstation/operations/{op.pk}/"
    page.goto(f"{base}/workstation/checklists/runs/{run.pk}/?next={back}")
    wait_until(
        lambda: kept(page, page.url) and asset_kept(page, "checklist.js"), 15, "the run page was not kept"
    )

    def item(prompt):
        return page.locator(f".q-item[data-prompt='{prompt}']")

    # Two values online: the server has them.
    item("Work area clean").locator("label.q-toggle").click()
    item("Bore diameter").locator("input.q-num").fill("25.01")
    expect(item("Bore diameter").locator("[data-saved]")).to_have_text("saved")
    expect(item("Work area clean").locator("[data-saved]")).to_have_text("saved")

    # The Wi-Fi drops; one more value, then the tablet is reloaded without a network.
    page.context.set_offline(True)
    item("Flange thickness").locator("input.q-num").fill("8.02")
    expect(item("Flange thickness").locator("[data-saved]")).to_have_text("kept on this tablet: not sent yet")
    page.reload()
    expect(item("Work area clean").locator("input")).to_be_checked()
    expect(item("Bore diameter").locator("input.q-num")).to_have_value("25.01")
    expect(item("Flange thickness").locator("input.q-num")).to_have_value("8.02")
    expect(page.locator("[data-answered]")).to_have_text("3")
    assert "q-in" in item("Flange thickness").get_attribute("class")

    # The rest, and the submit, still offline: kept, and the screen says so.
    item("Gauge used").locator("label:has-text('Micrometer')").click()
    item("Remarks").locator("textarea").fill("Checked offline")
    page.click("[data-run-submit]")
    expect(page.locator("[data-run-kept]")).to_have_text(MESSAGE)
    expect(page.locator("[data-run-kept]")).to_be_visible()
    expect(page.locator("[data-run-submit]")).to_be_disabled()
    screenshot(page, "checklist-submitted-offline")
    waiting = page.evaluate("JSON.parse(localStorage.getItem('mes.checklist.submits'))")
    assert [e["run"] for e in waiting] == [str(run.pk)]
    fields = dict(waiting[0]["fields"])
    assert fields["idempotency_key"] == waiting[0]["key"]
    assert "pin" not in fields and "csrfmiddlewaretoken" not in fields
    run.refresh_from_db()
    assert run.status == "in_progress" and not ChecklistResponse.objects.filter(run=run).exists()

    # A reload while still offline shows the same: the submission waits, the answers with it.
    page.reload()
    expect(page.locator("[data-run-kept]")).to_have_text(MESSAGE)
    expect(item("Remarks").locator("textarea")).to_have_value("Checked offline")

    # The connection returns: the run is stored once, with the values typed, and the tablet
    # goes back to the operation.
    page.context.set_offline(False)
    page.wait_for_url(f"{base}{back}", timeout=SLOW)
    run.refresh_from_db()
    assert run.status == "completed" and run.completed_by == operator
    stored = {r.item.prompt: r.display_value for r in ChecklistResponse.objects.filter(run=run)}
    assert ChecklistResponse.objects.filter(run=run).count() == len(ITEMS)
    assert stored["Bore diameter"].startswith("25.01") and stored["Flange thickness"].startswith("8.02")
    assert stored["Gauge used"] == "Micrometer" and stored["Remarks"] == "Checked offline"
    assert page.evaluate(KEPT_NAMES) == []

    # The same submission sent again (an answer lost on the way): the server stores it once.
    again = page.evaluate(
        """([url, fields]) => {
             const body = new FormData();
             fields.forEach(f => body.append(f[0], f[1]));
             const token = decodeURIComponent(document.cookie.match(/csrftoken=([^;]+)/)[1]);
             return fetch(url, {method: "POST", body: body, credentials: "same-origin",
                                headers: {"X-CSRFToken": token, Accept: "application/json"}})
               .then(r => r.text().then(t => [r.status, t]));
           }""",
        [waiting[0]["url"], waiting[0]["fields"]],
    )
    assert again[0] == 200 and json.loads(again[1])["submitted"] is True
    assert ChecklistRun.objects.filter(template=template, status="completed").count() == 1
    assert ChecklistResponse.objects.filter(run=run).count() == len(ITEMS)

    # Values typed in another run stay on the tablet until the person signs out.
    page.goto(f"{base}/workstation/checklists/runs/{other.pk}/")
    item("Remarks").locator("textarea").fill("Not finished")
    wait_until(lambda: page.evaluate(KEPT_NAMES), 10, "the value was not kept")
    # Submitted online unfinished, it is refused on the same screen, the values still there.
    page.click("[data-run-submit]")
    expect(page.locator("[data-run-error]")).to_be_visible()
    expect(item("Remarks").locator("textarea")).to_have_value("Not finished")
    expect(page.locator("[data-run-kept]")).to_be_hidden()
    other.refresh_from_db()
    assert other.status == "in_progress"
    page.click("text=Sign out")
    page.wait_for_url(f"{base}/tablet/sign-in/**")
    assert page.evaluate(KEPT_NAMES) == []
