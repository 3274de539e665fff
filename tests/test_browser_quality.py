"""On a tablet, an operator fills a 10-item checklist with one value out of spec; the operation
refuses to complete until the checklist is done; the nonconformance reaches the supervisor, and
the quality user dispositions it with an e-signature."""

import uuid

import pytest
from playwright.sync_api import expect

from mes import roles
from quality import services as quality
from quality.models import Nonconformance, OperationChecklist
from tests.conftest import screenshot
from workorders import services as production
from workorders.tests.factories import released_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pass-word-1"
ITEMS = [
    {"kind": "check", "prompt": "Work area clean"},
    {"kind": "check", "prompt": "Guards closed"},
    {"kind": "pass_fail", "prompt": "Visual inspection"},
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
    {"kind": "number", "prompt": "Surface roughness", "unit": "µm", "usl": "1.6", "decimals": 1},
    {"kind": "choice", "prompt": "Gauge used", "choices": ["Caliper", "Micrometer", "Bore gauge"]},
    {"kind": "choice", "prompt": "Defects seen", "choices": ["None", "Burr", "Scratch"], "multiple": True},
    {"kind": "text", "prompt": "Remarks", "required": False},
    {"kind": "photo", "prompt": "Photo of the part", "required": False},
]


def sign_in(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_checklist_interlock_nonconformance_and_signed_disposition(
    asgi_server, browser, tablet_page, make_user, workstation
):
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    author = make_user(roles.QUALITY, username="quinn", first_name="Quinn", last_name="Quist")
    operator = make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    from workorders.tests.factories import reasons

    reasons()
    version = quality.template_create(
        site=workstation.line.site, code="FAI", title="First article check", user=author
    )
    for item in ITEMS:
        quality.item_add(
            version_id=version.pk, user=author, data=dict(item, required=item.get("required", True))
        )
    quality.version_submit(version_id=version.pk, user=author)
    quality.version_approve(version_id=version.pk, user=author, password=PASSWORD)
    quality.version_make_effective(version_id=version.pk, user=author)
    order = released_order(user=supervisor, workstations=[workstation], quantity=5, number="WO-Q1")
    op = order.operations.get()
    OperationChecklist.objects.create(
        routing_operation=op.routing_operation, template=version.template, trigger="at_completion"
    )
    production.operation_start(operation_id=op.pk, workstation=workstation, user=operator, key=uuid.uuid4())
    production.operation_record_good(
        operation_id=op.pk, workstation=workstation, user=operator, quantity=4, key=uuid.uuid4()
    )

    page, base = tablet_page, asgi_server.url
    # The supervisor binds the tablet; the operator badges in.
    sign_in(page, base, "sam")
    page.goto(f"{base}/tablets/")
    page.check(f"input[name=workstation][value='{workstation.pk}']")
    page.fill("input[name=name]", "Tablet Q")
    page.click("text=Bind to workstation")
    page.wait_for_selector("text=This tablet is now bound to")
    page.click("text=Sign out")
    page.goto(f"{base}/")
    page.fill("input[name=badge_number]", "1001")
    page.click("input[name=pin]")
    for digit in "2580":
        page.click(f"[data-keypad] [data-key='{digit}']")
    page.click("[data-keypad] button[type=submit]")
    page.wait_for_url(f"{base}/workstation/")

    # The last unit is refused: the checklist is not done, and the message names it.
    page.goto(f"{base}/workstation/operations/{op.pk}/")
    page.click(".act-good")
    page.wait_for_selector(".toast-error:has-text('FAI First article check')")
    op.refresh_from_db()
    assert op.quantity_good == 4

    # The checklist, from the operation's quality panel.
    page.goto(f"{base}/workstation/checklists/operations/{op.pk}/?next=/workstation/operations/{op.pk}/")
    page.click("text=Fill FAI")
    page.wait_for_selector(".q-run")
    items = page.locator(".q-item")
    assert items.count() == 10

    def item(prompt):
        return page.locator(f".q-item[data-prompt='{prompt}']")

    item("Work area clean").locator("label.q-toggle").click()
    item("Guards closed").locator("label.q-toggle").click()
    item("Visual inspection").locator("label.q-pass").click()
    for key in "25.09":  # out of spec, typed on the keypad
        item("Bore diameter").locator(f"[data-key='{key}']").click()
    assert "q-out" in item("Bore diameter").get_attribute("class")
    assert item("Bore diameter").locator("[data-verdict]").inner_text() == "OUT OF SPEC"
    item("Flange thickness").locator("input.q-num").fill("8.01")
    assert "q-in" in item("Flange thickness").get_attribute("class")
    item("Surface roughness").locator("input.q-num").fill("0.8")
    item("Gauge used").locator("label:has-text('Bore gauge')").click()
    item("Defects seen").locator("label:has-text('None')").click()
    item("Remarks").locator("textarea").fill("Bore checked twice")
    # Locators, not wait_for_function: the page's Content-Security-Policy forbids the eval it uses.
    expect(page.locator("[data-answered]")).to_have_text("9")
    page.wait_for_selector(".q-item[data-prompt='Remarks'] [data-saved]:has-text('saved')")
    screenshot(page, "quality-checklist-filled")
    page.click("[data-run-submit]")
    page.wait_for_url(f"{base}/workstation/operations/{op.pk}/")

    # Now the operation completes.
    page.click(".act-good")
    expect(page.locator("[data-counter=good]")).to_have_text("5")
    op.refresh_from_db()
    assert op.quantity_good == 5 and op.status == "done"
    nc = Nonconformance.objects.get()
    assert nc.operator == operator and nc.work_order == order and "25.09" in nc.title

    # The supervisor sees the nonconformance.
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    supervisor_page = desk.new_page()
    supervisor_page.set_default_timeout(10_000)
    sign_in(supervisor_page, base, "sam")
    supervisor_page.goto(f"{base}/quality/")
    supervisor_page.wait_for_selector(f"tr[data-nc='{nc.number}']")
    assert "1" in supervisor_page.locator(".qs-count").first.inner_text()
    supervisor_page.click("text=Sign out")

    # The quality user dispositions it with a signature.
    sign_in(supervisor_page, base, "quinn")
    supervisor_page.goto(f"{base}/quality/nonconformances/{nc.pk}/")
    form = supervisor_page.locator("#disposition-form")
    form.locator("select[name=disposition]").select_option("rework")
    form.locator("textarea[name=note]").fill("Re-bore to 25.00 and re-inspect")
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    supervisor_page.wait_for_selector("[data-signature]:has-text('Quinn Quist')")
    assert "Dispositioned" in supervisor_page.locator("[data-nc-status]").inner_text()
    assert "Approved" in supervisor_page.locator("[data-signature]").inner_text()
    screenshot(supervisor_page, "quality-disposition-signed")
    desk.close()
    nc.refresh_from_db()
    assert nc.status == "dispositioned" and nc.disposition == "rework"
