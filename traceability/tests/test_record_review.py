"""Reviewing a production record: comments per exception, the signed release or rejection, the
seal, and refusals that write nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from mes import roles
from mes.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mes.signatures import Meaning, Signature
from mes.throttle import SignInAttempt
from traceability.models import RecordComment, RecordReview, RecordStatus
from traceability.record import services
from traceability.record.exceptions import exceptions_for
from traceability.record.review import record_view
from traceability.record.selectors import order_for_record, record_for
from traceability.tests.record_scenario import clean_order, event, with_every_exception
from workorders.states import EventKind, WorkOrderStatus

PASSWORD = "pass-word-1"


@pytest.fixture
def quality(make_user):
    return make_user(roles.QUALITY, username="quentin", first_name="Quentin", last_name="Quality")


def nothing_written():
    signed = Signature.objects.filter(content_type__app_label="traceability").count()
    return (RecordReview.objects.count(), RecordComment.objects.count(), signed) == (0, 0, 0)


def test_a_clean_record_is_released_with_a_signature_that_holds_its_hash(site, operator, quality):
    s = clean_order(site=site, user=operator)

    review, signature, record = services.record_release(work_order=s.order, user=quality, password=PASSWORD)

    assert review.status == RecordStatus.RELEASED and review.record_hash == record.content_hash
    assert signature.meaning == Meaning.RELEASED and signature.signer == quality
    view = record_view(s.order)
    assert view.sealed and view.seal_intact is True
    assert str(view.signatures[0]).startswith("Released by Quentin Quality")


@pytest.mark.requirement("P11-11.10a", "A11-14")
def test_a_later_change_breaks_the_seal(site, operator, quality):
    s = clean_order(site=site, user=operator)
    services.record_release(work_order=s.order, user=quality, password=PASSWORD)

    s.operation.workstation = s.workstation.__class__.objects.create(
        line=s.workstation.line, code="ASM9", name="Other"
    )
    s.operation._change_reason = "Moved after the fact"
    s.operation.save()

    view = record_view(s.order)
    assert view.seal_intact is False
    assert [e.kind for e in view.exceptions] == ["edit"]


def test_release_needs_a_comment_on_every_exception(site, operator, supervisor, quality):
    s = with_every_exception(clean_order(site=site, user=operator), supervisor=supervisor)
    keys = [e.key for e in exceptions_for(record_for(s.order))]

    with pytest.raises(ValidationFailed) as refused:
        services.record_release(work_order=s.order, user=quality, password=PASSWORD)
    assert refused.value.field == "comments" and nothing_written()

    for key in keys:
        services.record_comment(
            work_order=s.order, user=quality, exception_key=key, text="Checked, acceptable."
        )
    review, _, _ = services.record_release(work_order=s.order, user=quality, password=PASSWORD, comment="OK")
    assert review.status == RecordStatus.RELEASED and review.comments.count() == len(keys)


def test_a_comment_names_an_exception_of_the_record(site, operator, quality):
    s = clean_order(site=site, user=operator)
    with pytest.raises(ValidationFailed) as refused:
        services.record_comment(work_order=s.order, user=quality, exception_key="hold:999", text="?")
    assert refused.value.field == "exception_key" and nothing_written()


def test_release_without_signature_is_refused_and_writes_nothing(site, operator, quality):
    s = clean_order(site=site, user=operator)
    with pytest.raises(ValidationFailed) as refused:
        services.record_release(work_order=s.order, user=quality, password="")
    assert refused.value.field == "password"
    assert nothing_written() and not SignInAttempt.objects.exists()


def test_release_with_a_wrong_password_signs_nothing(site, operator, quality):
    s = clean_order(site=site, user=operator)
    with pytest.raises(ValidationFailed) as refused:
        services.record_release(work_order=s.order, user=quality, password="wrong")
    assert refused.value.field == "password" and nothing_written()


def test_a_second_release_is_refused_and_writes_nothing(site, operator, quality):
    s = clean_order(site=site, user=operator)
    services.record_release(work_order=s.order, user=quality, password=PASSWORD)
    before = (Signature.objects.count(), RecordReview.history.count(), SignInAttempt.objects.count())

    with pytest.raises(Conflict) as refused:
        services.record_release(work_order=s.order, user=quality, password=PASSWORD)

    assert refused.value.field == "status"
    assert (Signature.objects.count(), RecordReview.history.count(), SignInAttempt.objects.count()) == before


@pytest.mark.requirement("MES-004")
def test_a_record_of_another_site_is_refused(site, operator, other_site, local_quality):
    s = clean_order(site=site, user=operator)
    with pytest.raises(NotFound) as hidden:
        order_for_record(user=local_quality, number=s.order.number)
    assert hidden.value.field == "number"
    with pytest.raises(Forbidden) as refused:
        services.record_release(work_order=s.order, user=local_quality, password=PASSWORD)
    assert refused.value.field == "work_order" and nothing_written()


def test_only_quality_decides(site, operator, supervisor):
    s = clean_order(site=site, user=operator)
    with pytest.raises(Forbidden):
        services.record_release(work_order=s.order, user=supervisor, password=PASSWORD)
    assert nothing_written()


def test_a_running_order_is_not_decided(site, operator, quality):
    s = clean_order(site=site, user=operator)
    s.order.status = WorkOrderStatus.IN_PROGRESS
    s.order.save()
    with pytest.raises(Conflict) as refused:
        services.record_release(work_order=s.order, user=quality, password=PASSWORD)
    assert refused.value.field == "work_order" and nothing_written()


def test_reject_says_why_then_a_comment_takes_it_back_into_review(site, operator, quality):
    s = clean_order(site=site, user=operator)
    with pytest.raises(ValidationFailed) as refused:
        services.record_reject(work_order=s.order, user=quality, password=PASSWORD)
    assert refused.value.field == "comment" and nothing_written()

    review, signature, _ = services.record_reject(
        work_order=s.order, user=quality, password=PASSWORD, comment="Scrap not explained"
    )
    assert review.status == RecordStatus.REJECTED and signature.meaning == Meaning.REJECTED
    assert signature.comment == "Scrap not explained"
    assert str(record_view(s.order).signatures[0]).startswith("Rejected by Quentin Quality")

    late = event(
        s, EventKind.SCRAP, quantity=Decimal(1), at=s.start - timedelta(minutes=5)
    )  # an offline tap: an exception
    services.record_comment(
        work_order=s.order, user=quality, exception_key=f"offline_tap:{late.pk}", text="Tablet was offline"
    )
    review.refresh_from_db()
    assert review.status == RecordStatus.IN_REVIEW
    review, _, _ = services.record_release(work_order=s.order, user=quality, password=PASSWORD)
    assert review.status == RecordStatus.RELEASED
