"""Reason codes are plant content: the plant names them in each language, and every screen that
shows a reason shows the reader's name for it, else the site's.

What is stored and sent stays language-neutral: events keep the code, live deltas carry the code
next to the site's name, and the ERP gets the site's name.
"""

import json
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation
from rest_framework.test import APIClient

from mes import roles
from mes.errors import ValidationFailed
from mes.models import Shift
from workorders import services
from workorders.live.selectors import latest_events
from workorders.models import ProductionEvent, ReasonCode
from workorders.selectors.floor import reason_names, reasons_of
from workorders.selectors.losses import losses_for_workstation
from workorders.states import Loss, ReasonKind
from workorders.tests.factories import key, released_order

pytestmark = pytest.mark.django_db

JAM_IN_GERMAN = {"de": {"name": "Materialstau"}}


def _reason(**fields) -> ReasonCode:
    return ReasonCode(code="JAM", name="Jam", kind=ReasonKind.DOWNTIME, loss=Loss.SMALL_STOP, **fields)


def test_a_reason_keeps_its_translations_cleaned(supervisor):
    saved = services.master_data_save(
        instance=_reason(translations={"de": {"name": "  Materialstau "}, "es": {"name": ""}}),
        user=supervisor,
        reason="Names for the German shift",
    )

    saved.refresh_from_db()
    # Blank languages are left out: the site's name stands in for them.
    assert saved.translations == JAM_IN_GERMAN
    assert saved.history.latest("history_id").translations == JAM_IN_GERMAN


@pytest.mark.parametrize(
    "translations",
    [
        {"fr": {"name": "Bourrage"}},  # a language the site does not offer
        {"de": {"title": "Stau"}},  # a text a reason does not have
        {"de": {"name": "x" * 201}},  # longer than the name may be
        "Materialstau",  # not a text per language
    ],
)
def test_bad_translations_are_refused_naming_the_field_and_write_nothing(supervisor, translations):
    with pytest.raises(ValidationFailed) as refused:
        services.master_data_save(
            instance=_reason(translations=translations), user=supervisor, reason="New reason"
        )

    assert refused.value.field == "translations"
    assert not ReasonCode.objects.filter(code="JAM").exists()
    assert not ReasonCode.history.filter(code="JAM").exists()


def test_the_api_takes_translations_and_refuses_bad_ones_with_the_field(make_user):
    client = APIClient()
    client.force_authenticate(make_user(roles.ADMIN))
    body = {"code": "JAM", "name": "Jam", "kind": "downtime", "loss": "small_stop", "reason": "New reason"}

    bad = client.post("/api/v1/reason-codes/", {**body, "translations": {"xx": {"name": "?"}}}, format="json")
    assert bad.status_code == 400
    assert "translations" in bad.json()["errors"]
    assert not ReasonCode.objects.exists()

    created = client.post("/api/v1/reason-codes/", {**body, "translations": JAM_IN_GERMAN}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["translations"] == JAM_IN_GERMAN


def test_names_and_their_order_follow_the_reader(supervisor):
    for code, name, german in [("A-JAM", "Jam", "Stau"), ("B-SETUP", "Adjustment", "Umrüsten")]:
        services.master_data_save(
            instance=ReasonCode(
                code=code,
                name=name,
                kind=ReasonKind.DOWNTIME,
                loss=Loss.SETUP,
                translations={"de": {"name": german}},
            ),
            user=supervisor,
            reason="New reason",
        )

    with translation.override("de"):
        assert reason_names() == {"A-JAM": "Stau", "B-SETUP": "Umrüsten"}
        assert [r.code for r in reasons_of(ReasonKind.DOWNTIME)] == ["A-JAM", "B-SETUP"]
    # Spanish has no names of its own: the site's names, in their order.
    with translation.override("es"):
        assert reason_names() == {"A-JAM": "Jam", "B-SETUP": "Adjustment"}
        assert [r.code for r in reasons_of(ReasonKind.DOWNTIME)] == ["B-SETUP", "A-JAM"]


@pytest.fixture
def stopped(workstation, operator, supervisor):
    """An hour ago the workstation stood for half an hour for a jam named in German."""
    services.master_data_save(instance=_reason(translations=JAM_IN_GERMAN), user=supervisor, reason="New")
    released_order(user=supervisor, workstations=[workstation], quantity=10)
    start = timezone.now() - timedelta(hours=1)
    local = timezone.localtime(start, ZoneInfo(workstation.line.site.time_zone))
    Shift.objects.create(
        site=workstation.line.site,
        name="Around the stop",
        start_time=(local - timedelta(minutes=30)).time(),
        end_time=(local + timedelta(minutes=90)).time(),
        weekdays="1234567",
    )
    services.downtime_start(
        workstation=workstation, user=operator, reason="JAM", key=key(), occurred_at=start
    )
    services.downtime_end(
        workstation=workstation, user=operator, key=key(), occurred_at=start + timedelta(minutes=30)
    )
    return workstation


def test_the_loss_pareto_names_reasons_in_the_readers_language(stopped):
    window = (timezone.now() - timedelta(hours=2), timezone.now() + timedelta(hours=1))

    with translation.override("de"):
        german = losses_for_workstation(stopped, *window).downtime_pareto
    english = losses_for_workstation(stopped, *window).downtime_pareto

    assert [(r.code, r.name) for r in german] == [("JAM", "Materialstau")]
    assert [(r.code, r.name) for r in english] == [("JAM", "Jam")]


def test_live_messages_carry_the_code_and_the_page_the_readers_names(stopped, supervisor, client_for):
    with translation.override("de"):
        events = latest_events(stopped.line_id)
    stop = next(e for e in events if e["kind"] == "downtime_start")
    # A delta goes to every screen whatever its language: the code, and the site's name.
    assert (stop["reason_code"], stop["reason"]) == ("JAM", "Jam")

    supervisor.language = "de"
    supervisor.save(update_fields=["language"])
    html = client_for(supervisor).get(f"/live/lines/{stopped.line_id}/").content.decode()
    names = re.search(r'<script id="reason-names" type="application/json">(.*?)</script>', html, re.S)
    assert json.loads(names.group(1)) == {"JAM": "Materialstau"}


def test_live_events_are_labelled_with_their_kind_in_the_readers_language(stopped):
    recorded = ProductionEvent.objects.filter(line_id=stopped.line_id)
    labels = {}
    for language in ("en", "de"):
        with translation.override(language):
            summaries = latest_events(stopped.line_id)
            assert {s["id"]: s["label"] for s in summaries} == {e.pk: e.get_kind_display() for e in recorded}
            labels[language] = next(s["label"] for s in summaries if s["kind"] == "downtime_start")
    assert labels["de"] != labels["en"]
