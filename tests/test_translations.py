"""Every screen in the operator's language.

- Each shipped catalog (German, Spanish, Arabic; every app's and the project's, Python and
  JavaScript) is complete: no entry untranslated or fuzzy, placeholders and plural forms as
  `msgfmt -c` checks them.
- Every desk and tablet page, rendered in German, shows none of the UI's own English phrases
  (the catalogs' English texts of two words or more that German does not share).
- The language is the signed-in person's, else the tablet screen's choice, else the browser's,
  else the site's; machines calling the API with a token get their Accept-Language.
- A decimal typed in the person's language is stored as the number it means; one typed with the
  other language's separator is refused naming the field, in the person's language.
"""

from __future__ import annotations

import ast
import html
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.authtoken.models import Token

from mes import roles
from mes.errors import ValidationFailed
from mes.forms import typed_decimal
from mes.models import User
from mes.tests.factories import signed_in
from quality.models import ChecklistResponse, ChecklistRun, OperationChecklist
from quality.tests.conftest import answers_for, make_effective
from tests.test_site_scoping import (
    _client,
    _own_report_job,
    _walker,
    plant,  # noqa: F401  (the two-site plant fixture)
    walk,
)
from workorders.tests.factories import reasons, released_order

BASE = Path(settings.BASE_DIR)
APPS = ("mes", "workorders", "quality", "traceability", "integration")
SHIPPED = ("de", "es", "ar")
DOMAINS = ("django.po", "djangojs.po")


# --- the catalogs -------------------------------------------------------------------------------------


def shipped_catalogs() -> list[Path]:
    """Every catalog of a shipped language: the apps' and the project's, Python and JavaScript."""
    found = []
    for root in [BASE / app / "locale" for app in APPS] + [BASE / "locale"]:
        for language in SHIPPED:
            for domain in DOMAINS:
                po = root / language / "LC_MESSAGES" / domain
                if po.exists():
                    found.append(po)
    return found


def expected_catalogs() -> list[Path]:
    """The catalogs the plan ships: each app's and the project's django.po, the project's
    djangojs.po (every script in static/js), for each shipped language."""
    expected = []
    for language in SHIPPED:
        for app in APPS:
            expected.append(BASE / app / "locale" / language / "LC_MESSAGES" / "django.po")
        expected.append(BASE / "locale" / language / "LC_MESSAGES" / "django.po")
        expected.append(BASE / "locale" / language / "LC_MESSAGES" / "djangojs.po")
    return expected


def _msgfmt() -> str:
    found = shutil.which("msgfmt")
    assert found, "msgfmt (GNU gettext) is needed to check the catalogs: apt-get install gettext"
    return found


def test_every_app_and_the_project_ship_a_catalog_per_language():
    missing = [str(p.relative_to(BASE)) for p in expected_catalogs() if not p.exists()]
    assert not missing, f"catalogs not shipped yet: {missing}"


@pytest.mark.parametrize("po", shipped_catalogs(), ids=lambda p: str(p.relative_to(BASE)))
def test_a_shipped_catalog_is_complete_and_well_formed(po):
    """`msgfmt -c` refuses placeholders that differ from the English text and plural forms that
    do not match the header; its statistics count what is untranslated or fuzzy."""
    checked = subprocess.run(
        [_msgfmt(), "-c", "--statistics", "-o", "/dev/null", str(po)], capture_output=True, text=True
    )
    report = checked.stderr.strip()
    assert checked.returncode == 0, f"{po.relative_to(BASE)}: {report}"
    assert "untranslated" not in report and "fuzzy" not in report, f"{po.relative_to(BASE)}: {report}"


@dataclass
class Entry:
    msgid: str = ""
    msgstr: list[str] = field(default_factory=list)
    fuzzy: bool = False


def read_po(path: Path) -> list[Entry]:
    """The entries of a catalog (obsolete ones left out): msgid and every msgstr, unescaped."""
    entries, entry, target = [], Entry(), None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = line.strip()
        if not line:
            if target is not None:
                entries.append(entry)
            entry, target = Entry(), None
        elif line.startswith("#,"):
            entry.fuzzy = "fuzzy" in line
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid "):
            entry.msgid, target = ast.literal_eval(line[6:]), "msgid"
        elif line.startswith("msgstr"):
            entry.msgstr.append(ast.literal_eval(line.split(" ", 1)[1]))
            target = "msgstr"
        elif line.startswith('"') and target == "msgid":
            entry.msgid += ast.literal_eval(line)
        elif line.startswith('"') and target == "msgstr":
            entry.msgstr[-1] += ast.literal_eval(line)
        elif line.startswith(("msgctxt", "msgid_plural")):
            target = None  # the context and the plural's English are not shown as such
    return [e for e in entries if e.msgid]


PHRASE = re.compile("^[A-Za-z][A-Za-z'\u2019]*(?: [A-Za-z][A-Za-z'\u2019]*)+$")


def english_phrases() -> set[str]:
    """The UI's own English phrases: msgids of the Python and template catalogs of two words or
    more, plain text (no placeholder, markup or punctuation inside), that German does not share
    (no German translation contains them)."""
    german = [BASE / app / "locale" / "de" / "LC_MESSAGES" / "django.po" for app in APPS]
    german.append(BASE / "locale" / "de" / "LC_MESSAGES" / "django.po")
    entries = [e for po in german if po.exists() for e in read_po(po)]
    translated = "\n".join(s for e in entries for s in e.msgstr)
    phrases = set()
    for e in entries:
        text = e.msgid.strip().rstrip(".:!?")
        if PHRASE.match(text) and text not in translated:
            phrases.add(text)
    return phrases


class VisibleText(HTMLParser):
    """The text a person reads on a page: text nodes (scripts and styles left out) and the
    attributes a screen shows or reads out (title, aria-label, placeholder, alt)."""

    SHOWN = ("title", "aria-label", "placeholder", "alt")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        self.parts += [value for name, value in attrs if name in self.SHOWN and value]

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)

    @classmethod
    def of(cls, body: str) -> str:
        parser = cls()
        parser.feed(body)
        return re.sub(r"\s+", " ", html.unescape(" ".join(parser.parts)))


def english_on(text: str, phrases: set[str]) -> list[str]:
    return sorted(p for p in phrases if re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", text))


# Who walks the pages in German: every desk role plant-wide, on the bound tablet of site A.
WALKERS = (roles.SUPERVISOR, roles.QUALITY, roles.AUDITOR, roles.ADMIN)


@pytest.mark.django_db
def test_every_page_in_german_shows_none_of_the_uis_english_phrases(plant):  # noqa: F811
    phrases = english_phrases()
    assert len(phrases) >= 50, f"the German catalogs give too few phrases to look for: {len(phrases)}"
    found: dict[str, list[str]] = {}
    pages = 0
    for role in WALKERS:
        person = _walker(role, None)
        person.language = "de"
        person.save()
        _own_report_job(person, plant.a)  # report jobs are their requester's
        client = _client(person, plant)
        walked, _ = walk(client, plant, records=plant.a)
        for page in walked:
            if page.status != 200 or page.url.startswith("/api/") or "<html" not in page.body:
                continue
            pages += 1
            english = english_on(VisibleText.of(page.body), phrases)
            if english:
                found.setdefault(page.url.split(" [")[0], english)
    # The sign-in pages, before anyone has signed in, in the language the browser asks for.
    anonymous = _client(_walker(roles.OPERATOR, None), plant)
    anonymous.logout()
    for url in ("/login/", "/tablet/sign-in/"):
        response = anonymous.get(url, HTTP_ACCEPT_LANGUAGE="de")
        assert response.status_code == 200, url
        pages += 1
        english = english_on(VisibleText.of(response.content.decode()), phrases)
        if english:
            found[url] = english
    assert pages >= 40, f"the walk rendered only {pages} pages"
    described = "\n".join(f"  {url}: {english}" for url, english in sorted(found.items()))
    assert not found, f"pages in German still showing the UI's English:\n{described}"


# --- which language ----------------------------------------------------------------------------------


def _language(response) -> str:
    return response.headers.get("Content-Language", "")


@pytest.mark.django_db
def test_without_a_choice_the_site_default_speaks():
    response = Client().get("/login/")
    assert response.status_code == 200 and _language(response) == settings.LANGUAGE_CODE
    assert b'<html lang="en" dir="ltr">' in response.content


@pytest.mark.django_db
def test_the_browser_language_is_taken_when_nothing_else_says():
    response = Client().get("/login/", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9,en;q=0.5")
    assert _language(response) == "es"
    assert b'<html lang="es" dir="ltr">' in response.content


@pytest.mark.django_db
def test_the_screen_choice_wins_over_the_browser_and_arabic_reads_right_to_left():
    client = Client()
    chosen = client.post("/language/", {"language": "ar", "next": "/login/"})
    assert chosen.status_code == 302 and chosen["Location"] == "/login/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ar"
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="es")
    assert _language(response) == "ar"
    assert b'<html lang="ar" dir="rtl">' in response.content


@pytest.mark.django_db
def test_a_language_that_is_not_offered_is_refused_and_nothing_is_set():
    client = Client()
    response = client.post("/language/", {"language": "xx", "next": "/login/"})
    assert response.status_code == 400 and b"language" in response.content
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies


@pytest.mark.django_db
def test_the_persons_own_language_wins_once_signed_in(make_user):
    person = make_user(roles.SUPERVISOR, username="dora", language="de")
    client = signed_in(Client(), person)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    response = client.get("/my-language/", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200 and _language(response) == "de"
    assert b'<html lang="de" dir="ltr">' in response.content
    # Signed out, the screen's choice speaks again.
    client.post("/logout/")
    assert _language(client.get("/login/", HTTP_ACCEPT_LANGUAGE="es")) == "ar"


@pytest.mark.django_db
def test_a_person_without_a_language_reads_the_screens_choice(make_user):
    client = signed_in(Client(), make_user(roles.SUPERVISOR, username="dora"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    assert _language(client.get("/my-language/", HTTP_ACCEPT_LANGUAGE="de")) == "es"


@pytest.mark.django_db
def test_a_machine_with_a_token_gets_its_accept_language_and_a_browser_its_persons(make_user):
    person = make_user(roles.SUPERVISOR, username="dora", language="es")
    token = Token.objects.create(user=person)
    machine = Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_ACCEPT_LANGUAGE="de")
    assert machine.status_code == 200 and _language(machine) == "de"
    browser = signed_in(Client(), person).get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="de")
    assert browser.status_code == 200 and _language(browser) == "es"


# --- the switch on the tablet, and the person's own language -------------------------------------------


@pytest.fixture
def bound_tablet(supervisor, workstation) -> Client:
    tablet = signed_in(Client(), supervisor)
    assert tablet.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet 1"}).status_code == 302
    tablet.post("/logout/")
    return tablet


FLAGS = re.compile("[\U0001f1e6-\U0001f1ff]")  # regional indicator letters: what flags are made of


def test_the_badge_sign_in_screen_offers_each_language_by_its_own_name(bound_tablet):
    response = bound_tablet.get("/tablet/sign-in/", HTTP_ACCEPT_LANGUAGE="de")
    body = response.content.decode()
    assert response.status_code == 200
    for code, name in (("en", "English"), ("de", "Deutsch"), ("es", "Español"), ("ar", "العربية")):
        assert f'name="language" value="{code}" lang="{code}"' in body and f">{name}</button>" in body
    assert 'value="de" lang="de" class="btn btn-quiet active" aria-pressed="true"' in body
    assert not FLAGS.search(body)


def test_after_badge_sign_in_the_operators_language_wins_over_the_screens(bound_tablet, operator):
    bound_tablet.post("/language/", {"language": "ar", "next": "/tablet/sign-in/"})
    assert _language(bound_tablet.get("/tablet/sign-in/")) == "ar"
    operator.language = "es"
    operator.save()
    signed_in(bound_tablet, operator, on_tablet=True)
    response = bound_tablet.get("/tablet/", follow=True)
    assert response.status_code == 200 and _language(response) == "es"


@pytest.mark.django_db
def test_a_person_chooses_their_own_language_and_the_history_says_so(make_user):
    person = make_user(roles.OPERATOR, username="olga")
    client = signed_in(Client(), person)
    page = client.get("/my-language/")
    assert page.status_code == 200 and ">Español</button>" in page.content.decode()
    response = client.post("/my-language/", {"language": "es", "next": "/my-language/"})
    assert response.status_code == 302 and response["Location"] == "/my-language/"
    person.refresh_from_db()
    assert person.language == "es"
    latest = person.history.latest("history_date")
    assert latest.language == "es" and latest.history_user_id == person.pk
    assert latest.history_change_reason == "Language chosen by the person"
    assert _language(client.get("/my-language/")) == "es"


@pytest.mark.django_db
def test_a_language_not_offered_is_refused_at_its_field_and_nothing_changes(make_user):
    person = make_user(roles.OPERATOR, username="olga", language="de")
    client = signed_in(Client(), person)
    rows = person.history.count()
    response = client.post("/my-language/", {"language": "klingon"})
    assert response.status_code == 400 and b'id="language-error"' in response.content
    person.refresh_from_db()
    assert person.language == "de" and person.history.count() == rows


@pytest.mark.django_db
def test_the_people_desk_sets_a_persons_language_with_a_reason(make_user, supervisor, site):
    person = make_user(roles.OPERATOR, username="olga", first_name="Olga", last_name="Ott")
    desk = signed_in(Client(), supervisor)
    body = {
        "first_name": "Olga",
        "last_name": "Ott",
        "role": roles.OPERATOR,
        "sites": [site.pk],
        "language": "ar",
        "reason": "onboarding, reads Arabic",
    }
    assert desk.post(f"/people/{person.pk}/", body).status_code == 302
    person.refresh_from_db()
    assert person.language == "ar"
    assert person.history.latest("history_date").history_change_reason == "onboarding, reads Arabic"
    refused = desk.post(f"/people/{person.pk}/", {**body, "language": "xx"})
    assert refused.status_code == 400
    person.refresh_from_db()
    assert person.language == "ar"


# --- the scripts' catalog ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_scripts_catalog_is_served_by_the_app_and_loaded_before_every_script():
    catalog = Client().get("/jsi18n/?language=de", HTTP_ACCEPT_LANGUAGE="de")
    assert catalog.status_code == 200 and "javascript" in catalog["Content-Type"]
    assert b"django.gettext" in catalog.content and b"DECIMAL_SEPARATOR" in catalog.content
    assert b'"DECIMAL_SEPARATOR": ","' in catalog.content
    assert "max-age" in catalog.get("Cache-Control", "")
    page = Client().get("/login/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page)
    assert scripts and scripts[0] == "/jsi18n/?language=de", scripts


# --- decimals typed in the person's language --------------------------------------------------------


def test_a_decimal_is_read_in_the_language_of_the_request():
    with translation.override("de"):
        assert typed_decimal("12,03", field="value") == "12.03"
        assert typed_decimal(" -0,5 ", field="value") == "-0.5"
        assert typed_decimal("", field="value") == ""
    with translation.override("es"):
        assert typed_decimal("12,03", field="value") == "12.03"
    with translation.override("ar"):
        assert (
            typed_decimal("\u0661\u0662\u066b\u0660\u0663", field="value") == "12.03"
        )  # Arabic-Indic digits and separator
    with translation.override("en"):
        assert typed_decimal("12.03", field="value") == "12.03"


@pytest.mark.parametrize(("language", "typed"), [("de", "12.03"), ("de", "1.234,5"), ("en", "12,03")])
def test_a_decimal_with_the_other_languages_separator_is_refused_naming_the_field(language, typed):
    with translation.override(language), pytest.raises(ValidationFailed) as refused:
        typed_decimal(typed, field="quantity", label="Menge" if language == "de" else "Quantity")
    assert refused.value.field == "quantity" and refused.value.code == "decimal_separator"
    assert refused.value.message.startswith("Menge: " if language == "de" else "Quantity: ")


COMMA = "%(field)s: type the decimals after a comma, as in %(example)s."


def test_the_refusal_speaks_german_to_a_german_person():
    with translation.override("de"):
        german = gettext(COMMA)
        with pytest.raises(ValidationFailed) as refused:
            typed_decimal("12.03", field="quantity", label="Menge")
    assert german != COMMA, "the refusal of a decimal separator is not translated to German yet"
    assert refused.value.message == german % {"field": "Menge", "example": "12,03"}


@pytest.fixture
def german_tablet(make_user, supervisor, workstation):
    operator = make_user(roles.OPERATOR, username="greta", badge=("2001", "2468"), language="de")
    tablet = signed_in(Client(), supervisor)
    assert tablet.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet 1"}).status_code == 302
    tablet.post("/logout/")
    return signed_in(tablet, operator, on_tablet=True)


@pytest.fixture
def checklist_run(make_user, site, supervisor, workstation):
    inspector = make_user(roles.QUALITY, username="quinn")
    reasons()
    order = released_order(user=supervisor, workstations=[workstation], quantity=10)
    operation = order.operations.get()
    template = make_effective(site=site, author=inspector, approver=inspector)
    OperationChecklist.objects.create(
        routing_operation=operation.routing_operation, template=template, trigger="at_start"
    )
    return template, operation


def _start(tablet, template, operation) -> ChecklistRun:
    response = tablet.post(
        "/workstation/checklists/start/",
        {"template": template.pk, "operation": operation.pk, "trigger": "at_start"},
    )
    assert response.status_code == 302, response.content[:300]
    return ChecklistRun.objects.get()


@pytest.mark.django_db
def test_a_german_operator_types_12_comma_03_and_12_03_is_stored(german_tablet, checklist_run):
    template, operation = checklist_run
    run = _start(german_tablet, template, operation)
    diameter = run.version.items.get(prompt="Shaft diameter")
    saved = german_tablet.post(
        f"/workstation/checklists/runs/{run.pk}/save/", {"item": diameter.pk, "value": "10,03"}
    )
    assert saved.json() == {"saved": True, "ok": True, "in_spec": True, "error": ""}
    body = {
        **answers_for(template, **{"Shaft diameter": "10,03"}),
        "idempotency_key": "0b5c3a0c-1e55-4c8e-8a47-0c7a9a55d3a9",
    }
    body.pop(next(k for k, v in body.items() if isinstance(v, list)))
    response = german_tablet.post(f"/workstation/checklists/runs/{run.pk}/submit/", body)
    assert response.status_code == 302, response.content[:500]
    stored = ChecklistResponse.objects.get(item=diameter)
    assert stored.value_number == Decimal("10.03")


@pytest.mark.django_db
def test_a_dot_decimal_from_a_german_operator_is_refused_naming_the_item(german_tablet, checklist_run):
    template, operation = checklist_run
    run = _start(german_tablet, template, operation)
    diameter = run.version.items.get(prompt="Shaft diameter")
    saved = german_tablet.post(
        f"/workstation/checklists/runs/{run.pk}/save/", {"item": diameter.pk, "value": "10.03"}
    )
    assert saved.json()["ok"] is False and saved.json()["error"].startswith("Shaft diameter: ")
    body = {
        **answers_for(template, **{"Shaft diameter": "10.03"}),
        "idempotency_key": "1b5c3a0c-1e55-4c8e-8a47-0c7a9a55d3a9",
    }
    body.pop(next(k for k, v in body.items() if isinstance(v, list)))
    response = german_tablet.post(f"/workstation/checklists/runs/{run.pk}/submit/", body)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Shaft diameter: " in page and 'value="10.03"' in page
    with translation.override("de"):
        assert gettext(COMMA) % {"field": "Shaft diameter", "example": "12,03"} in html.unescape(page)
    assert not ChecklistResponse.objects.exists()
    assert User.objects.get(username="greta").language == "de"
