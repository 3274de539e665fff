"""The tablet flow in the operator's language, in a real browser at 1024x768: German (a decimal
typed "12,03" is stored as 12.03) and Arabic (right to left, nothing wider than the screen).

The screen speaks the language chosen on the badge sign-in screen until the operator badges in;
then the operator's own language. What the pages should say is read from the catalogs (gettext),
so the tests speak of the shown text without repeating the translations.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from mes import roles
from mes.tests.servers import wait_until
from quality import services as quality
from quality.models import ChecklistResponse, ChecklistRun
from tests.conftest import screenshot
from tests.test_browser_tablet import badge_in, bind_tablet
from tests.test_translations import VisibleText, english_on, english_phrases
from workorders.models import ProductionEvent
from workorders.states import EventKind
from workorders.tests.factories import reasons, released_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pass-word-1"
ITEMS = [
    {"kind": "check", "prompt": "Work area clean"},
    {
        "kind": "number",
        "prompt": "Bore diameter",
        "unit": "mm",
        "lsl": "11.95",
        "usl": "12.10",
        "decimals": 2,
    },
]
# The scrap reason's names the plant gave it (its site name is "Scratched surface").
SCRATCH_NAMES = {"de": {"name": "Kratzer auf der Fläche"}, "ar": {"name": "خدش على السطح"}}
# What overflows the screen: a visible element reaching past the viewport's left or right edge.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(el).visibility === 'hidden') continue;
    if (el.closest('dialog:not([open])')) continue;
    if (box.left < -1 || box.right > width + 1) out.push(el.tagName + '.' + el.className + ' ' + Math.round(box.left) + '..' + Math.round(box.right));
  }
  return out.slice(0, 10);
}"""


def said(language: str, english: str) -> str:
    with translation.override(language):
        return gettext(english)


def effective_template(site, author):
    version = quality.template_create(site=site, code="BORE", title="Bore check", user=author)
    for item in ITEMS:
        quality.item_add(version_id=version.pk, user=author, data=dict(item, required=True))
    quality.version_submit(version_id=version.pk, user=author)
    quality.version_approve(version_id=version.pk, user=author, password=PASSWORD)
    quality.version_make_effective(version_id=version.pk, user=author)
    return version.template


def flow(page, base, *, language, workstation, make_user):
    """Bind, choose `language` on the sign-in screen, badge in as an operator whose own language
    it is, start, +5 good, 1 scrap with its reason, and a checklist with 12,03 typed."""
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    author = make_user(roles.QUALITY, username="quinn")
    operator = make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"), language=language)
    scratch = reasons()["scrap"]
    scratch.translations = SCRATCH_NAMES
    scratch.save(update_fields=["translations"])
    order = released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-4711")
    operation = order.operations.get()
    template = effective_template(workstation.line.site, author)

    bind_tablet(page, base, workstation)
    # The sign-in screen: each language by its own name; the chosen one speaks at once.
    page.goto(f"{base}/tablet/sign-in/")
    switch = page.locator(".language-switch button")
    expect(switch).to_have_text(["English", "Deutsch", "Español", "العربية"])
    page.click(f".language-switch button[value='{language}']")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("text=" + said(language, "Supervisor sign-in"))).to_be_visible()

    badge_in(page, base, "1001", "2580")
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.click(".queue-item[data-order='WO-4711']")
    expect(page.locator("#op-counters")).to_be_visible()
    page.click(".act-start")
    expect(page.locator("[data-op-status]")).to_have_text(said(language, "Running"))

    page.click(".act-good-n")
    page.click("#dlg-good [data-key='5']")
    page.click("#dlg-good button[type=submit]")
    expect(page.locator("[data-counter=good]")).to_have_text("5")

    page.click(".act-scrap")
    page.click("#dlg-scrap [data-key='1']")
    # The plant's own reason, by the name it gave it in the operator's language.
    page.click(f"#dlg-scrap label:has-text('{SCRATCH_NAMES[language]['name']}')")
    page.click("#dlg-scrap button[type=submit]")
    expect(page.locator("[data-counter=scrap]")).to_have_text("1")
    screenshot(page, f"i18n-{language}-operation")
    wait_until(
        lambda: ProductionEvent.objects.filter(operation=operation).count() == 3, 10, "taps not stored"
    )
    kinds = list(
        ProductionEvent.objects.filter(operation=operation).order_by("pk").values_list("kind", flat=True)
    )
    assert kinds == [EventKind.START, EventKind.GOOD, EventKind.SCRAP]
    assert ProductionEvent.objects.get(operation=operation, kind=EventKind.GOOD).quantity == 5
    assert ProductionEvent.objects.get(operation=operation, kind=EventKind.SCRAP).reason == scratch

    # The checklist: the keypad's decimal key is the language's, and 12,03 is typed with it.
    run = quality.checklist_run_start(template=template, workstation=workstation, user=operator)
    page.goto(f"{base}/workstation/checklists/runs/{run.pk}/?next=/workstation/")
    bore = page.locator(".q-item[data-prompt='Bore diameter']")
    page.locator(".q-item[data-prompt='Work area clean'] label.q-toggle").click()
    bore.locator("input.q-num").click()
    for key in ("1", "2", ",", "0", "3"):
        bore.locator(f"[data-keypad] [data-key='{key}']").click()
    expect(bore.locator("input.q-num")).to_have_value("12,03")
    expect(bore).to_have_class(re.compile(r"\bq-in\b"))
    shown = VisibleText.of(page.content())
    screenshot(page, f"i18n-{language}-checklist")
    page.click("[data-run-submit]")
    wait_until(
        lambda: ChecklistRun.objects.get(pk=run.pk).status == "completed", 15, "the checklist was not stored"
    )
    # Stored, the page goes on to the run's `next` by itself: a test's own navigation must come after.
    page.wait_for_url(f"{base}/workstation/")
    stored = ChecklistResponse.objects.get(run=run, item__prompt="Bore diameter")
    assert stored.value_number == Decimal("12.03")
    return shown


def test_the_tablet_flow_in_german(asgi_server, tablet_page, make_user, workstation):
    page, base = tablet_page, asgi_server.url
    shown = flow(page, base, language="de", workstation=workstation, make_user=make_user)
    assert said("de", "Submit checklist") in shown
    assert not english_on(shown, english_phrases()), "the checklist page still speaks English"


def test_the_tablet_flow_in_arabic_reads_right_to_left_and_fits_the_screen(
    asgi_server, tablet_page, make_user, workstation
):
    page, base = tablet_page, asgi_server.url
    flow(page, base, language="ar", workstation=workstation, make_user=make_user)
    page.goto(f"{base}/workstation/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    for url in (
        "/workstation/",
        f"/workstation/operations/{ProductionEvent.objects.exclude(operation=None).first().operation_id}/",
    ):
        page.goto(f"{base}{url}")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        wide = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert wide <= 0, f"{url} is {wide}px wider than the screen"
        assert page.evaluate(OVERFLOWING) == [], f"{url}: elements past the screen's edge"
        screenshot(page, f"i18n-ar-{url.strip('/').replace('/', '-')}")


def test_a_german_dashboard_names_the_plants_reasons_in_german(asgi_server, browser, make_user, workstation):
    from workorders import services
    from workorders.tests.factories import key

    make_user(roles.SUPERVISOR, username="sue", language="de")
    operator = make_user(roles.OPERATOR, username="olga")
    jam = reasons()["downtime"]
    jam.translations = {"de": {"name": "Materialstau"}}
    jam.save(update_fields=["translations"])
    services.downtime_start(workstation=workstation, user=operator, reason="JAM", key=key())

    desk = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = desk.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{asgi_server.url}/login/")
        page.fill("input[name=username]", "sue")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{asgi_server.url}/live/lines/{workstation.line_id}/")
        expect(page.locator("[data-conn]")).to_have_text(said("de", "Live"))
        station = page.locator(f".station[data-workstation-id='{workstation.pk}']")
        expect(station.locator("[data-field=downtime]")).to_have_text("Materialstau")
        expect(page.locator("[data-events] .event").first).to_contain_text("Materialstau")
    finally:
        desk.close()
