"""An auditor searches a finished serial, opens its backward trace, exports the PDF report and
downloads it: the report job runs in the server's background thread (the embedded mode) while
the page shows its progress."""

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from mes import roles
from tests.conftest import screenshot
from traceability.tests.factories import genealogy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pass-word-1"


def test_auditor_traces_a_serial_backward_and_downloads_the_pdf(asgi_server, browser, make_user, site):
    maker = make_user(roles.SUPERVISOR, username="sam")
    make_user(roles.AUDITOR, username="audrey", first_name="Audrey", last_name="Auditor")
    genealogy(site=site, user=maker)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{asgi_server.url}/login/")
        page.fill("input[name=username]", "audrey")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        menu = page.locator("nav details:has(a:text-is('Trace')) > summary")
        if menu.count():  # the entry sits in a menu of the top bar: open it first
            menu.click()
        page.click("nav >> text=Trace")

        page.fill("input[name=q]", "SN-3")
        page.select_option("select[name=direction]", "backward")
        page.click("button:has-text('Trace')")

        backward = page.locator("#trace-backward")
        backward.wait_for()
        for code in ("SN-3", "SUB-1", "SUB-2", "STEEL-1", "STEEL-2", "SCREW-1"):
            assert backward.locator(f"details[data-lot='{code}']").count() >= 1, code
        # The tree is collapsible: the raw-material level starts folded and opens on a click.
        steel = backward.locator("details[data-lot='STEEL-1'] > summary").first
        steel.click()
        assert (
            "Received from Acme Steel" in backward.locator("details[data-lot='STEEL-1']").first.inner_text()
        )
        screenshot(page, "trace-backward")

        backward.locator("button:has-text('PDF report')").click()
        link = page.locator("#report-download")
        link.wait_for(timeout=30_000)
        with page.expect_download() as info:
            link.click()
        content = Path(info.value.path()).read_bytes()
    finally:
        context.close()

    assert content.startswith(b"%PDF")
    text = " ".join(page_.extract_text() for page_ in PdfReader(io.BytesIO(content)).pages)
    assert "SN-3" in text and "Page 1 of" in text and "Audrey Auditor" in text
