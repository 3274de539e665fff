"""Desk forms that keep what was typed: a refusal comes back at the field it names, with the
input as it was, on the page for a plain post and as the form's partial for htmx."""

from __future__ import annotations

import json
import re

from quality import services
from quality.models import Hold, Nonconformance
from quality.tests.conftest import PASSWORD, key


def _error_at(field: str, content: bytes) -> str:
    """The refusal shown right after the input named `field`, or '' when there is none."""
    found = re.search(
        rb'name="' + field.encode() + rb'"[^>]*>(?:</textarea>|</select>)?\s*'
        rb'<small class="error field-error" role="alert">([^<]*)</small>',
        content,
    )
    return found.group(1).decode() if found else ""


def test_opening_a_nonconformance_without_a_title_keeps_the_details(client_for, quality_user, site):
    desk = client_for(quality_user)
    typed = {
        "title": "",
        "description": "Burr along the inner edge",
        "lot_code": "L-77",
        "idempotency_key": str(key()),
    }

    refused = desk.post("/quality/nonconformances/new/", typed)

    assert refused.status_code == 400
    assert _error_at("title", refused.content) == "Say what is wrong."
    assert b">Burr along the inner edge</textarea>" in refused.content
    assert b'name="lot_code" value="L-77"' in refused.content
    assert not Nonconformance.objects.exists()


def test_an_approval_with_a_wrong_password_keeps_the_comment(client_for, quality_user, site):
    version = services.template_create(site=site, code="CL9", title="Checklist CL9", user=quality_user)
    services.item_add(version_id=version.pk, user=quality_user, data={"kind": "check", "prompt": "Clean"})
    services.version_submit(version_id=version.pk, user=quality_user)
    desk = client_for(quality_user)

    refused = desk.post(
        f"/quality/checklists/versions/{version.pk}/approve/",
        {"comment": "Checked against drawing rev C", "password": "not-it"},
    )

    assert refused.status_code >= 400
    assert "not right" in _error_at("password", refused.content)
    assert b'name="comment" value="Checked against drawing rev C"' in refused.content
    assert b'value="not-it"' not in refused.content  # a password is never sent back
    version.refresh_from_db()
    assert version.status == "in_review"
    approved = desk.post(
        f"/quality/checklists/versions/{version.pk}/approve/", {"comment": "ok", "password": PASSWORD}
    )
    assert approved.status_code == 302
    version.refresh_from_db()
    assert version.status == "approved"


def test_a_hold_without_a_reason_answers_htmx_with_the_form_as_typed(client_for, quality_user, order):
    desk = client_for(quality_user)

    refused = desk.post(
        "/quality/holds/new/",
        {"work_order": str(order.pk), "reason": "", "idempotency_key": str(key())},
        HTTP_HX_REQUEST="true",
    )

    assert refused.status_code == 400
    assert b"<html" not in refused.content and b'id="hold-place-form"' in refused.content
    assert _error_at("reason", refused.content) == "Say why the order is held."
    assert f'<option value="{order.pk}" selected>'.encode() in refused.content
    notice = json.loads(refused["HX-Trigger"])["mes:notice"]
    assert notice == {"level": "error", "message": "reason: Say why the order is held."}
    assert not Hold.objects.exists()
