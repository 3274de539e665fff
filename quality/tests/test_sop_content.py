"""Work instructions as rich text with images, and quality files served only to those who may see them."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mes.errors import Conflict, ValidationFailed
from mes.tests.factories import SiteFactory
from quality import services
from quality.instructions import render_instruction
from quality.tests.conftest import PASSWORD, png_bytes

BODY = """# Clamp the part

1. Put the part in the **soft jaws**.
2. Torque to 12 Nm.

| Step | Check |
| --- | --- |
| Clamp | Jaws closed |

![Jaws closed](image:1)

<script>alert('x')</script><img src="https://evil.example/x.png" onerror="alert(1)">
"""


def png(name="jaws.png"):
    return SimpleUploadedFile(name, png_bytes((8, 8)), content_type="image/png")


@pytest.fixture
def draft(site, quality_user):
    version = services.sop_create(site=site, code="SOP-9", title="Clamping", body=BODY, user=quality_user)
    services.sop_image_add(version_id=version.pk, user=quality_user, image=png(), caption="Jaws closed")
    return version


def effective(version, user):
    services.sop_version_submit(version_id=version.pk, user=user)
    services.sop_version_approve(version_id=version.pk, user=user, password=PASSWORD)
    services.sop_version_make_effective(version_id=version.pk, user=user)


def test_markdown_renders_headings_lists_tables_and_the_versions_own_images(draft):
    html = str(render_instruction(draft))
    assert "<h1>Clamp the part</h1>" in html
    assert "<strong>soft jaws</strong>" in html and "<ol>" in html and "<table>" in html
    image = draft.images.get()
    assert f'src="/quality/files/sop-images/{image.pk}/"' in html and 'alt="Jaws closed"' in html


def test_scripts_and_event_handlers_never_reach_the_page(draft):
    html = str(render_instruction(draft))
    assert "<script" not in html and "onerror" not in html and "alert(" not in html.replace("&lt;", "")


def test_images_are_checked_and_only_drafts_take_them(draft, quality_user):
    not_an_image = SimpleUploadedFile("notes.png", b"plain text, not a picture", content_type="image/png")
    with pytest.raises(ValidationFailed) as refused:
        services.sop_image_add(version_id=draft.pk, user=quality_user, image=not_an_image)
    assert (refused.value.field, refused.value.code) == ("image", "not_an_image")
    assert draft.images.count() == 1
    effective(draft, quality_user)
    with pytest.raises(Conflict):
        services.sop_image_add(version_id=draft.pk, user=quality_user, image=png("late.png"))


def test_the_approval_signature_covers_the_images_and_a_new_draft_carries_them(draft, quality_user):
    assert draft.signature_content()["images"] == [[1, draft.images.get().image.name, "Jaws closed"]]
    effective(draft, quality_user)
    second = services.sop_version_new_draft(
        document_id=draft.document_id, user=quality_user, change_note="Torque"
    )
    assert list(second.images.values_list("number", "caption")) == [(1, "Jaws closed")]
    assert f"/quality/files/sop-images/{second.images.get().pk}/" in str(render_instruction(second))


def test_files_are_served_to_readers_of_the_site_only(draft, quality_user, client_for, operator, make_user):
    from mes import roles

    image = draft.images.get()
    url = f"/quality/files/sop-images/{image.pk}/"
    reader = client_for(quality_user).get(url)
    assert reader.status_code == 200 and b"".join(reader.streaming_content).startswith(b"\x89PNG")
    assert client_for(operator).get(url).status_code == 200  # operators read SOPs on the tablet
    elsewhere = make_user(roles.QUALITY, username="quinn-elsewhere", site=SiteFactory(code="OTHER"))
    assert client_for(elsewhere).get(url).status_code == 404
    assert client_for(make_user(roles.AUDITOR, username="ada")).get(url).status_code == 200
    from django.test import Client

    anonymous = Client(HTTP_HOST="127.0.0.1").get(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert client_for(quality_user).get("/quality/files/sop/999999.pdf").status_code == 404
