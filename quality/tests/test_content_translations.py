"""Plant content in several languages: a checklist item's prompt and help and an SOP version's
text are read in the reader's language where the plant translated them, else in the site's
default language; the approval signature covers every language; a new draft version carries the
translations over; a language the site does not offer is refused, naming the field."""

import re

import pytest
from django.utils import translation

from mes.content import in_language, options_in_language
from mes.errors import Forbidden, ValidationFailed
from mes.signatures import signature_is_intact, signatures_for
from mes.tests.factories import signed_in
from quality import services
from quality.models import (
    ChecklistItem,
    ChecklistRun,
    ChecklistTemplate,
    OperationChecklist,
    SopDocument,
    SopVersion,
)
from quality.templatetags.quality_tags import instruction
from quality.tests.conftest import PASSWORD

GERMAN = {"de": {"prompt": "Arbeitsbereich sauber", "help_text": "Späne entfernt"}}


@pytest.fixture(autouse=True)
def _site_language_after_each_test():
    """A request in German leaves German active in the thread: later tests read English again."""
    yield
    translation.deactivate()


def _draft_with_a_translated_item(site, author):
    version = services.template_create(site=site, code="TR", title="Translated", user=author)
    item = services.item_add(
        version_id=version.pk,
        user=author,
        data={"kind": "check", "prompt": "Work area clean", "help_text": "No chips", "translations": GERMAN},
    )
    return version, item


def _approved(version, user):
    services.version_submit(version_id=version.pk, user=user)
    services.version_approve(version_id=version.pk, user=user, password=PASSWORD)
    version.refresh_from_db()
    return version


def test_an_item_is_read_in_the_readers_language_else_in_the_sites(site, quality_user):
    _, item = _draft_with_a_translated_item(site, quality_user)
    assert item.translations == GERMAN
    with translation.override("de"):
        assert in_language(item, "prompt") == "Arbeitsbereich sauber"
        assert in_language(item, "help_text") == "Späne entfernt"
    with translation.override("es"):  # no Spanish: the site's default language stands in
        assert in_language(item, "prompt") == "Work area clean"


def test_the_approval_signs_every_language_of_the_items(site, quality_user):
    version, item = _draft_with_a_translated_item(site, quality_user)
    version = _approved(version, quality_user)
    signature = signatures_for(version).get()
    assert signature_is_intact(signature, version)

    ChecklistItem.objects.filter(pk=item.pk).update(translations={"de": {"prompt": "Anders"}})
    assert not signature_is_intact(signature, version), "a changed translation breaks the signature"


def test_a_new_draft_version_carries_the_translations_over(site, quality_user):
    version, _ = _draft_with_a_translated_item(site, quality_user)
    _approved(version, quality_user)
    draft = services.version_new_draft(template_id=version.template_id, user=quality_user)
    assert draft.pk != version.pk and draft.items.get().translations == GERMAN


def test_a_language_the_site_does_not_offer_is_refused_and_nothing_is_written(site, quality_user):
    version = services.template_create(site=site, code="TR", title="Translated", user=quality_user)
    with pytest.raises(ValidationFailed) as refused:
        services.item_add(
            version_id=version.pk,
            user=quality_user,
            data={"kind": "check", "prompt": "Clean", "translations": {"xx": {"prompt": "?"}}},
        )
    assert refused.value.field == "translations"
    assert not version.items.exists()


def test_the_editor_keeps_the_translations_typed_beside_the_prompt(client_for, quality_user, site):
    version = services.template_create(site=site, code="ED", title="Editor", user=quality_user)
    desk = client_for(quality_user)
    added = desk.post(
        f"/quality/checklists/versions/{version.pk}/items/",
        {"kind": "check", "prompt": "Clean", "prompt_de": " Sauber ", "help_text_ar": "", "required": "on"},
        HTTP_HX_REQUEST="true",
    )
    assert added.status_code == 200
    assert version.items.get().translations == {"de": {"prompt": "Sauber"}}
    assert b'name="prompt_de" lang="de" dir="auto" value="Sauber"' in added.content


def test_the_tablet_shows_the_operator_the_prompt_in_their_language(
    site, quality_user, supervisor, client_for, workstation, operator, operation
):
    version, _ = _draft_with_a_translated_item(site, quality_user)
    services.item_add(
        version_id=version.pk,
        user=quality_user,
        data={
            "kind": "choice",
            "prompt": "Surface",
            "choices": ["OK", "Scratched"],
            "translations": {"de": {"prompt": "Oberfläche", "choices": ["In Ordnung", "Zerkratzt"]}},
        },
    )
    _approved(version, quality_user)
    services.version_make_effective(version_id=version.pk, user=quality_user)
    OperationChecklist.objects.create(
        routing_operation=operation.routing_operation, template=version.template, trigger="at_start"
    )
    operator.language = "de"
    operator.save()
    tablet = client_for(supervisor)
    assert tablet.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet 1"}).status_code == 302
    tablet.post("/logout/")
    signed_in(tablet, operator, on_tablet=True)
    started = tablet.post(
        "/workstation/checklists/start/",
        {"template": version.template_id, "operation": operation.pk, "trigger": "at_start", "next": "/"},
    )
    assert started.status_code == 302 and ChecklistRun.objects.exists()
    page = tablet.get(started["Location"]).content.decode()
    assert "Arbeitsbereich sauber" in page and "Späne entfernt" in page
    assert "Work area clean" not in page
    # The operator picks by the German label; the option in the site's language is what is stored.
    assert re.search(r'value="OK"\s*>\s*<span>In Ordnung</span>', page)
    assert re.search(r'value="Scratched"\s*>\s*<span>Zerkratzt</span>', page)


def test_an_sop_is_read_in_the_readers_language_and_its_approval_covers_every_one(site, quality_user):
    version = services.sop_create(
        site=site, code="SOP-T", title="Setup", user=quality_user, body="# Set up the fixture"
    )
    services.sop_version_update(
        version_id=version.pk,
        user=quality_user,
        translations={"de": {"body": "# Vorrichtung einrichten"}},
        reason="German for the night shift",
    )
    version.refresh_from_db()
    with translation.override("de"):
        assert "Vorrichtung einrichten" in instruction(version)
    with translation.override("es"):
        assert "Set up the fixture" in instruction(version)

    services.sop_version_submit(version_id=version.pk, user=quality_user)
    services.sop_version_approve(version_id=version.pk, user=quality_user, password=PASSWORD)
    version.refresh_from_db()
    signature = signatures_for(version).get()
    assert signature_is_intact(signature, version)
    SopVersion.objects.filter(pk=version.pk).update(translations={"de": {"body": "# Anders"}})
    version.refresh_from_db()
    assert not signature_is_intact(signature, version), "a changed translation breaks the signature"


def _choice_item(version, user, translations):
    return services.item_add(
        version_id=version.pk,
        user=user,
        data={
            "kind": "choice",
            "prompt": "Surface",
            "choices": "OK\nScratched",
            "translations": translations,
        },
    )


def test_the_editor_keeps_translated_options_one_a_line(client_for, quality_user, site):
    version = services.template_create(site=site, code="OPT", title="Options", user=quality_user)
    desk = client_for(quality_user)
    added = desk.post(
        f"/quality/checklists/versions/{version.pk}/items/",
        {
            "kind": "choice",
            "prompt": "Surface",
            "choices": "OK\nScratched",
            "choices_de": " In Ordnung \n\nZerkratzt\n",
            "required": "on",
        },
        HTTP_HX_REQUEST="true",
    )
    assert added.status_code == 200
    assert version.items.get().translations == {"de": {"choices": ["In Ordnung", "Zerkratzt"]}}
    assert 'name="choices_de" lang="de" dir="auto" rows="3">In Ordnung\nZerkratzt\n</textarea>' in (
        added.content.decode()
    )


@pytest.mark.parametrize(
    ("kind", "options", "code", "field"),
    [
        ("choice", ["In Ordnung"], "options_mismatch", "choices_de"),  # one option of two named
        ("choice", "In Ordnung", "invalid", "translations"),  # a text where options are a list
        ("check", ["In Ordnung", "Zerkratzt"], "not_choice", "choices_de"),  # an item without options
    ],
)
def test_translated_options_that_do_not_match_are_refused_and_nothing_is_written(
    site, quality_user, kind, options, code, field
):
    version = services.template_create(site=site, code="OPT", title="Options", user=quality_user)
    data = {"kind": kind, "prompt": "Surface", "translations": {"de": {"choices": options}}}
    if kind == "choice":
        data["choices"] = ["OK", "Scratched"]
    with pytest.raises(ValidationFailed) as refused:
        services.item_add(version_id=version.pk, user=quality_user, data=data)

    assert refused.value.code == code
    assert refused.value.field == field
    assert not version.items.exists()


def test_options_fall_back_to_the_sites_where_a_language_has_none(site, quality_user):
    version = services.template_create(site=site, code="OPT", title="Options", user=quality_user)
    item = _choice_item(version, quality_user, {"de": {"choices": ["In Ordnung", "Zerkratzt"]}})
    with translation.override("de"):
        assert options_in_language(item) == [("OK", "In Ordnung"), ("Scratched", "Zerkratzt")]
    with translation.override("es"):
        assert options_in_language(item) == [("OK", "OK"), ("Scratched", "Scratched")]


def test_a_checklists_title_is_translated_at_the_desk_with_history(client_for, quality_user, site):
    version = services.template_create(site=site, code="TT", title="Bore check", user=quality_user)
    desk = client_for(quality_user)

    saved = desk.post(
        f"/quality/checklists/versions/{version.pk}/titles/",
        {"title_de": " Bohrungsprüfung ", "title_es": ""},
    )
    assert saved.status_code == 302
    template = ChecklistTemplate.objects.get(pk=version.template_id)
    assert template.translations == {"de": {"title": "Bohrungsprüfung"}}
    latest = template.history.latest("history_id")
    assert (latest.history_user, latest.history_change_reason) == (quality_user, "Title translated")
    with translation.override("de"):
        assert in_language(template, "title") == "Bohrungsprüfung"
    with translation.override("es"):
        assert in_language(template, "title") == "Bore check"

    too_long = desk.post(f"/quality/checklists/versions/{version.pk}/titles/", {"title_de": "x" * 201})
    assert too_long.status_code == 400
    html = too_long.content.decode()
    assert (
        'name="title_de" lang="de" dir="auto" maxlength="200" value="' + "x" * 201 + '" aria-invalid="true"'
        in html
    )
    template.refresh_from_db()
    assert template.translations == {"de": {"title": "Bohrungsprüfung"}}, "a refused title changes nothing"


def test_an_sops_title_is_translated_and_read_in_the_readers_language(client_for, quality_user, site):
    version = services.sop_create(site=site, code="SOP-T", title="Setup", user=quality_user, body="# Set up")
    desk = client_for(quality_user)

    saved = desk.post(f"/quality/sops/versions/{version.pk}/titles/", {"title_de": "Rüsten"})
    assert saved.status_code == 302
    assert SopDocument.objects.get(pk=version.document_id).translations == {"de": {"title": "Rüsten"}}
    assert "SOP-T · Setup" in desk.get(f"/quality/sops/versions/{version.pk}/").content.decode()
    quality_user.language = "de"
    quality_user.save(update_fields=["language"])
    german = client_for(quality_user).get(f"/quality/sops/versions/{version.pk}/").content.decode()
    assert "SOP-T · Rüsten" in german


def test_only_an_author_translates_a_title(site, quality_user, operator):
    version = services.template_create(site=site, code="TT", title="Bore check", user=quality_user)
    with pytest.raises(Forbidden):
        services.title_translate(
            model=ChecklistTemplate,
            pk=version.template_id,
            user=operator,
            translations={"de": {"title": "X"}},
        )
    assert ChecklistTemplate.objects.get(pk=version.template_id).translations == {}
