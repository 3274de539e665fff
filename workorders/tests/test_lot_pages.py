"""The tablet's material control, the serials it shows, the GS1 label PDF and the receiving form."""

import io
import uuid

import pytest
from pypdf import PdfReader

from mes import roles
from mes.tests.factories import signed_in
from workorders.models import Consumption, Lot
from workorders.tests.factories import released_order, routing_with
from workorders.tests.lotdata import good, products, receive

pytestmark = pytest.mark.django_db
EVENTS = "/workstation/events/"


@pytest.fixture
def plant(supervisor):
    return products(supervisor)


@pytest.fixture
def tablet(supervisor, operator, client_for, workstation):
    browser = client_for(supervisor)
    assert browser.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet 1"}).status_code == 302
    browser.post("/logout/")
    signed_in(browser, operator, on_tablet=True)
    return browser


def _tap(client, kind, op, **fields):
    body = {"kind": kind, "idempotency_key": str(uuid.uuid4()), "operation": op.pk, **fields}
    return client.post(EVENTS, body)


def test_operator_consumes_a_scanned_lot_and_sees_it_listed(tablet, site, plant, supervisor, workstation):
    receive(plant.seal, site, 50, supervisor, code="SEAL-77")
    receive(plant.sub, site, 10, supervisor, code="SUB-77")
    order = released_order(user=supervisor, routing=routing_with([workstation], product=plant.fg), quantity=3)
    op = order.operations.get()
    page = tablet.get(f"/workstation/operations/{op.pk}/").content.decode()
    assert "Consume material" in page and 'data-tap-form="consume"' in page
    assert _tap(tablet, "start", op).status_code == 200
    # A scanner sends the label's GS1 string; no quantity: what the order needs (3 x 2 seals).
    answer = _tap(tablet, "consume", op, lot="]C1\xf10109501101530003" + "10SEAL-77")
    assert answer.status_code == 200, answer.content
    assert Consumption.objects.get().quantity == 6
    refused = _tap(tablet, "consume", op, lot="NOPE", quantity="1")
    assert refused.status_code == 400 and refused.json()["code"] == "unknown_lot"
    assert "There is no lot NOPE" in refused.json()["detail"]
    _tap(tablet, "consume", op, lot="SUB-77", quantity="3")
    _tap(tablet, "good", op, quantity="2")
    fragment = tablet.get(
        f"/workstation/operations/{op.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="op-material"
    ).content.decode()
    assert 'data-consumed="SEAL-77"' in fragment and 'data-consumed="SUB-77"' in fragment
    serials = list(Lot.objects.filter(work_order=order).values_list("code", flat=True))
    assert len(serials) == 2 and all(f'data-serial="{code}"' in fragment for code in serials)


def test_label_pdf_carries_the_gs1_element_string(client_for, site, plant, supervisor, operator, workstation):
    from workorders import gs1
    from workorders.tests.lotdata import running_order

    _order, (op,) = running_order(plant.fg, supervisor, operator, site=site)
    good(op, operator, 1)
    serial = Lot.objects.get(kind="serial")
    response = client_for(operator).get(f"/lots/{serial.code}/label.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert serial.code in text and "FG-1" in text and gs1.element_string(serial) in text
    # A lot of a product without a GTIN still gets a label, with its code only.
    raw = receive(plant.raw, site, 5, supervisor, code="RAW-5")
    text = (
        PdfReader(io.BytesIO(client_for(supervisor).get("/lots/RAW-5/label.pdf").content))
        .pages[0]
        .extract_text()
    )
    assert raw.code in text and "no GTIN" in text
    assert client_for(supervisor).get("/lots/NOPE/label.pdf").status_code == 404


def test_supervisor_receives_a_lot_through_the_form(client_for, site, plant, supervisor, make_user):
    browser = client_for(supervisor)
    assert browser.get("/lots/receive/").status_code == 200
    response = browser.post(
        "/lots/receive/", {"product": "RAW-1", "site": site.pk, "quantity": "120", "supplier": "Alu AG"}
    )
    assert response.status_code == 302
    lot = Lot.objects.get(product=plant.raw)
    assert lot.quantity == 120 and lot.supplier == "Alu AG"
    refused = browser.post("/lots/receive/", {"product": "RAW-1", "site": site.pk, "quantity": "-4"})
    assert refused.status_code == 400 and "more than zero" in refused.content.decode()
    assert Lot.objects.count() == 1
    operator = make_user(roles.OPERATOR, username="otto")
    assert client_for(operator).get("/lots/receive/").status_code == 403
