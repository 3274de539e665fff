"""The main pages under the Content-Security-Policy in a real browser: they work, and the browser
reports no violation on any of them (no inline script or style, no eval, nothing from elsewhere),
while an inline script slipped into a page is refused and reported."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mes import roles
from quality import services as quality
from quality.tests.conftest import png_bytes
from tests.test_browser_tablet import badge_in, bind_tablet
from workorders import services as production
from workorders.tests.factories import reasons, released_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pass-word-1"

# Every violation the browser reports, as the page saw it; Chromium also logs each to the console.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.mesCspViolation({page: location.pathname + location.search, directive: e.violatedDirective,
                          blocked: e.blockedURI, sample: e.sample});
});
"""


def watched(browser, violations: list, **options):
    context = browser.new_context(**options)
    context.expose_function("mesCspViolation", lambda violation: violations.append(violation))
    context.add_init_script(REPORT_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on(
        "console",
        lambda m: (
            violations.append({"page": page.url, "console": m.text})
            if "Content Security Policy" in m.text
            else None
        ),
    )
    return context, page


def visit(page, url: str, ready: str | None = None) -> None:
    page.goto(url, wait_until="networkidle")
    if ready:
        page.wait_for_selector(ready)
    page.wait_for_timeout(300)  # htmx loads and the first websocket messages


def sign_in(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_main_pages_run_under_the_policy_without_a_violation(asgi_server, browser, make_user, workstation):
    make_user(roles.SUPERVISOR, username="sam")
    make_user(roles.ADMIN, username="ada")
    author = make_user(roles.QUALITY, username="quinn")
    operator = make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    reasons()
    order = released_order(user=author, workstations=[workstation], quantity=10, number="WO-CSP1")
    op = order.operations.get()
    production.operation_start(operation_id=op.pk, workstation=workstation, user=operator, key=uuid.uuid4())
    production.operation_record_good(
        operation_id=op.pk, workstation=workstation, user=operator, quantity=4, key=uuid.uuid4()
    )
    sop = quality.sop_create(
        site=workstation.line.site, code="SOP-1", title="Clamping", user=author,
        body="# Clamp\n\n![Jaws](image:1)\n\n![Pixel](https://evil.example/t.png)",
    )  # fmt: skip
    quality.sop_image_add(
        version_id=sop.pk, user=author, image=SimpleUploadedFile("j.png", png_bytes((8, 8)), "image/png")
    )
    quality.sop_version_submit(version_id=sop.pk, user=author)
    quality.sop_version_approve(version_id=sop.pk, user=author, password=PASSWORD)
    quality.sop_version_make_effective(version_id=sop.pk, user=author)
    base = asgi_server.url
    site, line = workstation.line.site, workstation.line
    violations: list[dict] = []

    # The supervisor's and the auditor's desk pages, the live dashboards, the API docs.
    desk, page = watched(browser, violations, viewport={"width": 1400, "height": 900})
    try:
        sign_in(page, base, "sam")
        visit(page, f"{base}/board/", "#order-table [data-order='WO-CSP1'], #order-table")
        width = page.evaluate("getComputedStyle(document.querySelector('.progress span')).width")
        assert width != "0px", "progress bars are drawn without a style attribute"
        visit(page, f"{base}/live/sites/{site.pk}/", "[data-conn][data-state='live']")
        visit(page, f"{base}/live/lines/{line.pk}/", "[data-conn][data-state='live']")
        for path in ("/plant/", "/tablets/", "/integration/", "/quality/", "/trace/?q=WO-CSP1", "/audit/",
                     "/reports/", f"/quality/sops/versions/{sop.pk}/"):  # fmt: skip
            visit(page, base + path)
        assert page.locator(".sop-body img[src]").count() == 1
        visit(page, f"{base}/api/docs/", ".swagger-ui .info")
        visit(page, f"{base}/api/v1/work-orders/")

        # The control: an inline script slipped into a page does not run, and is reported.
        before = len(violations)
        page.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
            " document.body.appendChild(s); }"
        )
        page.wait_for_timeout(300)
        assert page.evaluate("window.injected") is None
        assert len(violations) > before
        del violations[before:]

        sign_in(page, base, "ada")
        for path in ("/admin/", "/admin/workorders/product/", "/admin/workorders/product/add/"):
            visit(page, base + path)
    finally:
        desk.close()

    # The operator's tablet: queue, operation with its andon box, the SOP.
    tablet, page = watched(browser, violations, viewport={"width": 1024, "height": 768}, has_touch=True)
    try:
        bind_tablet(page, base, workstation)
        badge_in(page, base, "1001", "2580")
        page.wait_for_timeout(300)
        page.click(".queue-item[data-order='WO-CSP1']")
        page.wait_for_selector("#andon-box summary")
        page.wait_for_timeout(500)
        assert page.evaluate("getComputedStyle(document.querySelector('.progress.big span')).width") != "0px"
        # The operation's counters still poll every 5 s, now without a trigger condition htmx would eval.
        assert page.evaluate("typeof window.mesPollGuards.tablet") == "function"
        with page.expect_request(lambda r: r.headers.get("x-mes-poll") == "1", timeout=8_000):
            pass
        visit(page, f"{base}/workstation/checklists/sops/{sop.pk}/")
    finally:
        tablet.close()

    assert violations == [], "\n".join(map(str, violations))
