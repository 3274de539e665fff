"""An SOP's lifecycle at the desk, one URL per verb: a refused form comes back as it was typed,
with the refusal at its field and its status, and each change keeps the reason given."""

import pytest

from mes.signatures import signatures_for
from quality import services
from quality.models import SopVersion
from quality.states import VersionStatus
from quality.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(site, quality_user):
    return services.sop_create(site=site, code="SOP-D", title="Deburring", user=quality_user, body="Deburr.")


def test_an_update_without_a_reason_comes_back_as_typed_and_changes_nothing(client_for, quality_user, draft):
    desk = client_for(quality_user)

    refused = desk.post(
        f"/quality/sops/versions/{draft.pk}/update/", {"body": "Deburr both edges.", "body_de": "Entgraten."}
    )

    assert refused.status_code == 400
    html = refused.content.decode()
    assert '<textarea name="body" rows="12">Deburr both edges.</textarea>' in html
    assert 'name="body_de" rows="6" lang="de" dir="auto">Entgraten.</textarea>' in html
    assert "Give a reason for the change." in html
    draft.refresh_from_db()
    assert (draft.body, draft.translations) == ("Deburr.", {})


def test_an_update_keeps_the_reason_typed_in_the_history(client_for, quality_user, draft):
    saved = client_for(quality_user).post(
        f"/quality/sops/versions/{draft.pk}/update/",
        {"body": "Deburr both edges.", "body_de": "Beide Kanten entgraten.", "reason": "Second edge missed"},
    )

    assert saved.status_code == 302
    draft.refresh_from_db()
    assert draft.body == "Deburr both edges."
    assert draft.translations == {"de": {"body": "Beide Kanten entgraten."}}
    latest = draft.history.latest("history_id")
    assert (latest.history_user, latest.history_change_reason) == (quality_user, "Second edge missed")


def test_review_approval_and_effective_each_have_their_own_url(client_for, quality_user, draft):
    desk = client_for(quality_user)
    base = f"/quality/sops/versions/{draft.pk}/"

    assert desk.post(base + "submit/").status_code == 302
    wrong = desk.post(base + "approve/", {"comment": "Looks right", "password": "not-it"})
    assert wrong.status_code == 400
    assert 'name="comment" value="Looks right"' in wrong.content.decode()
    assert not signatures_for(draft).exists()

    assert desk.post(base + "approve/", {"comment": "Looks right", "password": PASSWORD}).status_code == 302
    assert desk.post(base + "effective/").status_code == 302
    assert SopVersion.objects.get(pk=draft.pk).status == VersionStatus.EFFECTIVE
    signature = signatures_for(draft).get()
    assert (signature.signer, signature.meaning, signature.comment) == (
        quality_user,
        "approved",
        "Looks right",
    )

    drafted = desk.post(base + "new-draft/", {"reason": "Add the chamfer"})
    second = SopVersion.objects.get(document=draft.document, version=2)
    assert drafted["Location"] == f"/quality/sops/versions/{second.pk}/"
    assert second.history.earliest("history_id").history_change_reason == "Add the chamfer"
