"""Qualifications and SOP acknowledgement gate the Start of an operation on the tablet."""

import logging
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from mes.errors import Conflict, Forbidden, ValidationFailed
from mes.signatures import Meaning, signatures_for
from mes.tests.factories import WorkstationFactory, signed_in
from mes.tests.rows import changed, row_counts
from quality import services
from quality.models import Qualification, StartRefusal
from quality.services.qualifications import qualification_grant, qualification_revoke
from quality.tests.conftest import PASSWORD
from workorders.models import ProductionEvent
from workorders.tests.factories import released_order

EVENTS = "/workstation/events/"
REFUSALS = StartRefusal._meta.db_table


def _days(n: int):
    return timezone.localdate() + timedelta(days=n)


def _grant(quality_user, person, workstation, *, days=30, password=PASSWORD):
    return qualification_grant(
        user=quality_user,
        person_id=person.pk,
        workstation_id=workstation.pk,
        valid_until=_days(days),
        password=password,
    )


@pytest.fixture
def tablet(supervisor, client_for, workstation, operator):
    tablet = client_for(supervisor)
    assert tablet.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet 1"}).status_code == 302
    tablet.post("/logout/")
    signed_in(tablet, operator, on_tablet=True)
    return tablet


@pytest.fixture
def op(supervisor, workstation):
    return released_order(user=supervisor, workstations=[workstation], quantity=10).operations.get()


def _start(tablet, op):
    return tablet.post(EVENTS, {"kind": "start", "idempotency_key": str(uuid.uuid4()), "operation": op.pk})


def _refused_start(tablet, op, field: str) -> dict:
    """Start is refused at `field`; nothing of the start is written, only the record of the refusal."""
    before = row_counts()
    response = _start(tablet, op)
    assert response.status_code == 409, response.content[:300]
    body = response.json()
    assert field in body["errors"], body
    assert changed(before, row_counts()) == {REFUSALS: (before[REFUSALS], before[REFUSALS] + 1)}
    assert not ProductionEvent.objects.filter(operation=op).exists()
    refusal = StartRefusal.objects.order_by("-id").first()
    assert (refusal.guard, refusal.code, refusal.message) == (field, body["code"], body["detail"])
    assert (refusal.operation, refusal.work_order_id, refusal.workstation_id) == (
        op,
        op.work_order_id,
        op.workstation_id,
    )
    return body


# --- the services --------------------------------------------------------------------------------


def test_a_grant_is_signed_approved_by_the_quality_engineer(quality_user, operator, workstation):
    qualification = _grant(quality_user, operator, workstation)
    assert qualification.valid_until == _days(30)
    (signature,) = signatures_for(qualification)
    assert signature.signer == quality_user
    assert signature.meaning == Meaning.APPROVED
    assert qualification.history.count() == 1


def test_an_expiry_in_the_past_is_refused_at_its_field_with_nothing_written(
    quality_user, operator, workstation
):
    before = row_counts()
    for days in (-1, 0):
        with pytest.raises(ValidationFailed) as refused:
            _grant(quality_user, operator, workstation, days=days)
        assert refused.value.field == "valid_until"
    with pytest.raises(ValidationFailed) as refused:
        qualification_grant(
            user=quality_user,
            person_id=operator.pk,
            workstation_id=workstation.pk,
            valid_until="soon",
            password=PASSWORD,
        )
    assert refused.value.field == "valid_until"
    assert not changed(before, row_counts())


def test_a_grant_without_a_signature_is_refused_with_nothing_written(quality_user, operator, workstation):
    before = row_counts()
    with pytest.raises(ValidationFailed) as refused:
        _grant(quality_user, operator, workstation, password="")
    assert refused.value.field == "password"
    assert not changed(before, row_counts())


def test_only_quality_grants(supervisor, operator, workstation):
    with pytest.raises(Forbidden):
        _grant(supervisor, operator, workstation)
    assert not Qualification.objects.exists()


def test_a_revocation_says_why_and_happens_once(quality_user, operator, workstation):
    qualification = _grant(quality_user, operator, workstation)
    with pytest.raises(ValidationFailed) as refused:
        qualification_revoke(user=quality_user, qualification_id=qualification.pk, reason=" ")
    assert refused.value.field == "reason"
    qualification_revoke(user=quality_user, qualification_id=qualification.pk, reason="Left the team")
    qualification.refresh_from_db()
    assert qualification.revoked_at is not None and qualification.revoke_reason == "Left the team"
    with pytest.raises(Conflict):
        qualification_revoke(user=quality_user, qualification_id=qualification.pk, reason="Again")


# --- the qualification guard at Start ------------------------------------------------------------


def test_a_workstation_without_qualifications_is_open_to_every_operator(tablet, op):
    assert _start(tablet, op).status_code == 200


@pytest.mark.requirement("P11-11.10i")
def test_start_without_a_qualification_is_refused_in_words_and_logged(
    tablet, op, quality_user, supervisor, workstation, caplog
):
    _grant(quality_user, supervisor, workstation)  # someone else: the workstation now asks
    with caplog.at_level(logging.WARNING, logger="quality.qualifications"):
        body = _refused_start(tablet, op, "qualification")
    assert body["detail"] == "You are not qualified on CNC1 — ask your supervisor."
    assert body["code"] == "not_qualified"
    assert "olga is not qualified on CNC1" in caplog.text


def test_start_with_a_valid_qualification_is_allowed(tablet, op, quality_user, operator, workstation):
    _grant(quality_user, operator, workstation)
    assert _start(tablet, op).status_code == 200


@pytest.mark.requirement("P11-11.10i")
def test_start_with_an_expired_qualification_is_refused(tablet, op, quality_user, operator, workstation):
    qualification = _grant(quality_user, operator, workstation)
    Qualification.objects.filter(pk=qualification.pk).update(valid_until=_days(-1))
    body = _refused_start(tablet, op, "qualification")
    assert "ran out" in body["detail"]


def test_start_with_a_revoked_qualification_is_refused(tablet, op, quality_user, operator, workstation):
    qualification = _grant(quality_user, operator, workstation)
    qualification_revoke(user=quality_user, qualification_id=qualification.pk, reason="Retraining")
    _refused_start(tablet, op, "qualification")


def test_a_qualification_elsewhere_does_not_count(tablet, op, quality_user, operator, workstation):
    _grant(quality_user, operator, WorkstationFactory(line=workstation.line, code="CNC2"))
    _grant(quality_user, quality_user, workstation)
    _refused_start(tablet, op, "qualification")


# --- the SOP guard at Start ----------------------------------------------------------------------


def _effective_sop(quality_user, site, *, body="Clamp the part."):
    version = services.sop_create(site=site, code="SOP-1", title="Clamping", body=body, user=quality_user)
    return _approve(quality_user, version)


def _approve(quality_user, version):
    services.sop_version_submit(version_id=version.pk, user=quality_user)
    services.sop_version_approve(version_id=version.pk, user=quality_user, password=PASSWORD)
    return services.sop_version_make_effective(version_id=version.pk, user=quality_user)


def test_an_attached_sop_must_be_read_and_a_new_version_read_again(tablet, op, quality_user, operator, site):
    version = _effective_sop(quality_user, site)
    services.operation_sop_attach(
        routing_operation=op.routing_operation, document=version.document, user=quality_user
    )
    body = _refused_start(tablet, op, "sop")
    assert body["code"] == "sop_not_acknowledged"
    assert "SOP-1" in body["detail"]
    assert (
        body["url"]
        == f"/workstation/checklists/sops/{version.pk}/?next=%2Fworkstation%2Foperations%2F{op.pk}%2F"
    )
    # The tablet's SOP page: read it, acknowledge, then Start works.
    assert tablet.get(body["url"]).status_code == 200
    assert tablet.post(body["url"], {"badge_number": "1001", "pin": "1234"}).status_code == 302
    # A new effective version asks again (checked before the start goes through).
    draft = services.sop_version_new_draft(document_id=version.document_id, user=quality_user)
    services.sop_version_update(
        version_id=draft.pk, user=quality_user, body="Clamp it twice.", reason="Clamp twice"
    )
    newer = _approve(quality_user, draft)
    body = _refused_start(tablet, op, "sop")
    assert f"/sops/{newer.pk}/" in body["url"]
    assert tablet.post(body["url"], {"badge_number": "1001", "pin": "1234"}).status_code == 302
    assert _start(tablet, op).status_code == 200
