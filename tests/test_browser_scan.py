"""Scanning a component lot with the tablet's camera: chromium's fake camera plays a video of the
lot's label, the app's own ZXing build decodes it, the lot lands in the field and is consumed the
way a keyboard-wedge scan is (the raw GS1 string goes to the server, which reads the lot)."""

from __future__ import annotations

import os
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image, ImageDraw
from playwright.sync_api import expect, sync_playwright
from reportlab.graphics.barcode import qrencoder
from reportlab.graphics.barcode.code128 import Code128

from mes import roles
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, screenshot
from tests.test_browser_tablet import badge_in, bind_tablet
from workorders import gs1, services
from workorders.models import BomLine, Consumption
from workorders.states import Tracking
from workorders.tests.factories import ProductFactory, released_order, routing_with

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FRAME = (1280, 720)  # the fake camera's picture, in pixels
RAW_GTIN = "0950110153001" + str(gs1.gs1_check_digit("0950110153001"))


# --- a fake camera filming a label ------------------------------------------------------------


def code128_image(data: str, module: int = 3) -> Image.Image:
    """The label's Code 128 (FNC1 first: a GS1-128) drawn bar by bar from reportlab's own encoding,
    the one /lots/<code>/label.pdf prints: uppercase letters are bars, lowercase spaces, A = 1."""
    symbol = Code128(data, quiet=False)
    symbol.validate()
    symbol.encode()
    widths = symbol.decompose()
    image = Image.new("L", FRAME, 255)
    draw = ImageDraw.Draw(image)
    total = sum(ord(c.lower()) - ord("a") + 1 for c in widths) * module
    assert total < FRAME[0] - 20 * module, "the barcode with its quiet zones must fit the picture"
    x, top, bottom = (FRAME[0] - total) // 2, FRAME[1] // 3, 2 * FRAME[1] // 3
    for c in widths:
        width = (ord(c.lower()) - ord("a") + 1) * module
        if c.isupper():
            draw.rectangle([x, top, x + width - 1, bottom], fill=0)
        x += width
    return image


def qr_image(data: str, module: int = 12) -> Image.Image:
    qr = qrencoder.QRCode(3, qrencoder.QRErrorCorrectLevel.M)
    qr.addData(data)
    qr.make()
    count = qr.getModuleCount()
    image = Image.new("L", FRAME, 255)
    draw = ImageDraw.Draw(image)
    left, top = (FRAME[0] - count * module) // 2, (FRAME[1] - count * module) // 2
    for row in range(count):
        for col in range(count):
            if qr.isDark(row, col):
                x, y = left + col * module, top + row * module
                draw.rectangle([x, y, x + module - 1, y + module - 1], fill=0)
    return image


def write_y4m(image: Image.Image, path: Path, frames: int = 5) -> Path:
    """A YUV4MPEG2 file (header, then per frame "FRAME" and the I420 planes) of a grey picture:
    its luma is the picture, both chroma planes mid-grey. Chromium loops it as the camera."""
    width, height = image.size
    luma = image.convert("L").tobytes()
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)
    return path


def camera_browser(playwright, video: Path):
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)


@pytest.fixture
def filmed(tmp_path):
    """Starts chromium with a fake camera filming the given picture; a tablet-sized page."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    if not getattr(settings, "ZXING_DIR", Path("/nonexistent")).is_dir():
        pytest.skip("the camera's barcode decoder is not installed: run `make install` (npm ci)")
    opened = []

    def start(image: Image.Image):
        video = write_y4m(image, tmp_path / "camera.y4m")
        playwright = sync_playwright().start()
        browser = camera_browser(playwright, video)
        context = browser.new_context(viewport={"width": 1024, "height": 768}, has_touch=True)
        context.grant_permissions(["camera"])
        page = context.new_page()
        page.set_default_timeout(15_000)
        # The decoder is loaded from the app itself: the page's CSP must not have to refuse anything.
        page.csp_violations = []
        page.on(
            "console", lambda m: "Content Security Policy" in m.text and page.csp_violations.append(m.text)
        )
        opened.append((playwright, browser))
        return page

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield start
    finally:
        for playwright, browser in opened:
            browser.close()
            playwright.stop()
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


# --- the plant: a raw material lot with a GS1 label, an order that consumes it ------------------


def plant(make_user, workstation):
    supervisor = make_user(roles.SUPERVISOR, username="sam")
    operator = make_user(roles.OPERATOR, username="olga", badge=("1001", "2580"))
    raw = ProductFactory(part_number="RAW-1", unit="kg", tracking=Tracking.LOT, gtin=RAW_GTIN)
    sub = ProductFactory(part_number="SUB-1", tracking=Tracking.LOT, number_prefix="S", number_date="")
    BomLine.objects.create(product=sub, component=raw, quantity=Decimal("2.5"))
    lot = services.lot_receive(
        product=raw,
        site=workstation.line.site,
        quantity=500,
        user=supervisor,
        code="RAW-LOT-7",
        supplier="ACME",
    )
    order = released_order(
        user=supervisor, routing=routing_with([workstation], product=sub), quantity=4, number="WO-7001"
    )
    op = order.operations.get()
    services.operation_start(operation_id=op.pk, workstation=workstation, user=operator, key=uuid.uuid4())
    return lot, op


def open_consume(page, base, workstation):
    bind_tablet(page, base, workstation)
    badge_in(page, base, "1001", "2580")
    page.click(".queue-item[data-order='WO-7001']")
    page.click("button.act-consume")
    expect(page.locator("#dlg-consume")).to_be_visible()


def consumed(op) -> list[Consumption]:
    """The consumptions recorded on the operation (each with its ledger event and genealogy link)."""
    return list(Consumption.objects.filter(operation=op).select_related("lot"))


# --- tests ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("symbology", ["gs1-128", "qr"])
def test_a_lot_label_filmed_by_the_camera_fills_the_field_and_is_consumed(
    asgi_server, filmed, make_user, workstation, symbology
):
    lot, op = plant(make_user, workstation)
    if symbology == "gs1-128":
        # The very data of the lot's printed label: FNC1, (01) GTIN, (11) date, (10) lot.
        picture = code128_image(gs1.element_string(lot, raw=True))
    else:
        picture = qr_image(gs1.element_string(lot))  # "(01)…(11)…(10)RAW-LOT-7"
    page, base = filmed(picture), asgi_server.url
    open_consume(page, base, workstation)

    button = page.get_by_role("button", name="Scan with camera")
    expect(button).to_be_visible()
    button.click()
    overlay = page.locator("#scan-overlay")
    expect(overlay).to_be_visible()
    cancel = overlay.get_by_role("button", name="Cancel")
    box = cancel.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44, box
    screenshot(page, f"scan-viewfinder-{symbology}")

    # Decoded: the viewfinder closes, the consumption is sent as a wedge scan's would be.
    expect(page.locator("[data-consumed='RAW-LOT-7']")).to_be_visible(timeout=30_000)
    expect(overlay).to_be_hidden()
    scanned = page.locator("#dlg-consume input[name=lot]").input_value()
    assert "RAW-LOT-7" in scanned and RAW_GTIN in scanned, repr(scanned)
    if symbology == "gs1-128":
        assert scanned.startswith("]C1"), "the GS1-128's leading FNC1 read as its symbology identifier"
    events = consumed(op)
    assert [e.lot.code for e in events] == ["RAW-LOT-7"]
    assert events[0].quantity == Decimal("10")  # what the order needs: 4 x 2.5 kg
    assert page.csp_violations == []
    screenshot(page, f"scan-consumed-{symbology}")


def test_cancel_closes_the_viewfinder_and_leaves_the_keyboard_path(
    asgi_server, filmed, make_user, workstation
):
    lot, op = plant(make_user, workstation)
    page, base = filmed(Image.new("L", FRAME, 255)), asgi_server.url  # the camera sees no code
    open_consume(page, base, workstation)
    screenshot(page, "scan-consume-dialog")
    page.get_by_role("button", name="Scan with camera").click()
    overlay = page.locator("#scan-overlay")
    expect(overlay).to_be_visible()
    expect(overlay.locator("[data-scan-hint]")).to_have_text("Hold the label in the frame.")
    screenshot(page, "scan-viewfinder-running")
    overlay.get_by_role("button", name="Cancel").click()
    expect(overlay).to_be_hidden()
    assert page.evaluate("document.querySelector('#scan-overlay video').srcObject") is None  # camera released

    # The wedge scanner types the label's content and Enter, as before.
    field = page.locator("#dlg-consume input[name=lot]")
    field.fill(gs1.element_string(lot))
    field.press("Enter")
    expect(page.locator("[data-consumed='RAW-LOT-7']")).to_be_visible()
    assert [e.lot.code for e in consumed(op)] == ["RAW-LOT-7"]


def test_no_camera_button_where_the_browser_offers_no_camera(asgi_server, filmed, make_user, workstation):
    plant(make_user, workstation)
    page, base = filmed(Image.new("L", FRAME, 255)), asgi_server.url
    # Over plain HTTP on a plant address the browser has no navigator.mediaDevices.
    page.add_init_script("Object.defineProperty(Navigator.prototype, 'mediaDevices', {get: () => undefined})")
    open_consume(page, base, workstation)
    expect(page.get_by_role("button", name="Scan with camera")).to_be_hidden()
    expect(page.locator("#dlg-consume input[name=lot]")).to_be_visible()
