"""The tablet speaks the operator's language: the screens, and the refusals of a tap.

Machine codes stay English whatever the language: the tap kinds and actions the scripts read, the
status codes and the refusal's `code`.
"""

import uuid

import pytest

from workorders.tests.factories import released_order

# English words of the operation screen an operator reads; none may be left on a translated page.
ENGLISH_ON_THE_SCREEN = (
    ">Queue<",
    "▶ Start<",
    "+1 good<",
    "Report downtime<",
    "How many good?",
    "No downtime open.",
    "Send now<",
)


@pytest.fixture
def tablet_for(supervisor, client_for, workstation, operator):
    """A tablet bound to the workstation, with the operator badged in speaking `language`."""

    def sign_in(language: str):
        operator.language = language
        operator.save(update_fields=["language"])
        tablet = client_for(supervisor)
        assert (
            tablet.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet 1"}).status_code == 302
        )
        tablet.post("/logout/")
        response = tablet.post("/tablet/sign-in/", {"badge_number": "1001", "pin": "1234"})
        assert response.status_code == 302
        return tablet

    return sign_in


@pytest.fixture
def op(supervisor, workstation):
    return released_order(
        user=supervisor, workstations=[workstation], quantity=10, number="WO-100"
    ).operations.get()


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("de", ("Warteschlange", "▶ Starten", "+1 gut", "Stillstand melden", "Jetzt senden")),
        ("es", ("Cola", "▶ Iniciar", "+1 buena", "Registrar parada", "Enviar ahora")),
        ("ar", ("قائمة الانتظار", "▶ ابدأ", "+1 جيد", "أبلغ عن توقف", "أرسل الآن")),
    ],
)
def test_the_operation_screen_speaks_the_operators_language(tablet_for, op, reasons, language, words):
    html = tablet_for(language).get(f"/workstation/operations/{op.pk}/").content.decode()

    for word in words:
        assert word in html
    for english in ENGLISH_ON_THE_SCREEN:
        assert english not in html
    # What the scripts read stays the same in every language.
    assert 'data-action="start"' in html and 'data-tap="start"' in html


def test_a_refused_tap_says_why_in_the_operators_language(tablet_for, op):
    tablet = tablet_for("de")

    response = tablet.post(
        "/workstation/events/",
        {
            "kind": "scrap",
            "idempotency_key": str(uuid.uuid4()),
            "operation": op.pk,
            "quantity": "1",
            "reason": "",
        },
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_reason"
    assert body["detail"] == "Wählen Sie einen Ausschussgrund aus der Liste."
    assert body["errors"] == {"reason": ["Wählen Sie einen Ausschussgrund aus der Liste."]}


def test_the_plants_reasons_show_in_the_operators_language(tablet_for, op, reasons):
    reasons["scrap"].translations = {"de": {"name": "Kratzer"}}
    reasons["pause"].translations = {"de": {"name": "Frühstück"}}
    for reason in (reasons["scrap"], reasons["pause"]):
        reason.save(update_fields=["translations"])

    german = tablet_for("de").get(f"/workstation/operations/{op.pk}/").content.decode()
    assert 'value="SCRATCH" data-reason-name="Kratzer"> Kratzer' in german
    assert 'data-label="Pause: Frühstück">Frühstück</button>' in german
    assert "Scratched surface" not in german
    # A language the plant has not named them in gets the site's names.
    spanish = tablet_for("es").get(f"/workstation/operations/{op.pk}/").content.decode()
    assert 'data-reason-name="Scratched surface"> Scratched surface' in spanish
