"""An SOP shows only its own version's images: a picture from another host, or another version's
picture, never reaches the page, whether written as Markdown or as raw HTML."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mes.tests.factories import signed_in
from quality import services
from quality.tests.conftest import PASSWORD, png_bytes

IMG_SRC = re.compile(r"<img\b[^>]*\bsrc=\"([^\"]*)\"")


def png(name="jaws.png"):
    return SimpleUploadedFile(name, png_bytes((8, 8)), content_type="image/png")


@pytest.fixture
def foreign_image(site, quality_user):
    """An image of another SOP's version: served by the app, but not part of the SOP under test."""
    other = services.sop_create(site=site, code="SOP-OTHER", title="Other", body="x", user=quality_user)
    return services.sop_image_add(version_id=other.pk, user=quality_user, image=png("other.png"))


@pytest.fixture
def version(site, quality_user, foreign_image):
    body = f"""# Clamp the part

![Jaws closed](image:1)

![Tracking pixel](https://evil.example/t.png)

![Another SOP's picture](/quality/files/sop-images/{foreign_image.pk}/)

![Missing](image:7)

<img src="https://evil.example/raw.png" alt="raw"> <img src="//evil.example/x.png">
<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline">
"""
    draft = services.sop_create(site=site, code="SOP-9", title="Clamping", body=body, user=quality_user)
    services.sop_image_add(version_id=draft.pk, user=quality_user, image=png(), caption="Jaws closed")
    return draft


def own_image_url(version) -> str:
    return f"/quality/files/sop-images/{version.images.get().pk}/"


def test_the_desk_page_shows_only_the_versions_own_images(version, quality_user, client_for):
    page = client_for(quality_user).get(f"/quality/sops/versions/{version.pk}/")

    assert page.status_code == 200
    html = page.content.decode()
    instruction = html.split('<div class="sop-body">', 1)[1].split("</div>", 1)[0]
    assert IMG_SRC.findall(instruction) == [own_image_url(version)]
    assert "evil.example" not in html.split("<textarea", 1)[0]  # the draft's own text is in the editor
    assert 'alt="Tracking pixel"' in html  # the caption stays readable; only the source is dropped


def test_the_tablet_page_shows_only_the_versions_own_images(
    version, quality_user, supervisor, operator, workstation, client_for
):
    services.sop_version_submit(version_id=version.pk, user=quality_user)
    services.sop_version_approve(version_id=version.pk, user=quality_user, password=PASSWORD)
    services.sop_version_make_effective(version_id=version.pk, user=quality_user)
    tablet = client_for(supervisor)
    assert tablet.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet 1"}).status_code == 302
    tablet.post("/logout/")
    signed_in(tablet, operator, on_tablet=True)

    page = tablet.get(f"/workstation/checklists/sops/{version.pk}/")

    assert page.status_code == 200
    html = page.content.decode()
    assert IMG_SRC.findall(html) == [own_image_url(version)]
    assert "evil.example" not in html
    # The tablet's header stays: which workstation, and who is signed in at it.
    assert f"{workstation.name} <small>{workstation.code}</small>" in html and operator.printed_name in html
