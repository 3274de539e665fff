"""The review of a production record: comment on an exception, release, reject.

A release or a rejection is signed (21 CFR Part 11): the reviewer re-enters their password, the
review row takes the hash of the record as it is now, and the signature (meaning "released" or
"rejected") covers that hash: a released record is sealed (see `seals`). Every refusal
happens before anything is written: a release without a signature, a second release, a record of
another site, an exception left without a comment.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop, ngettext

from mes.errors import Conflict, Forbidden, ValidationFailed, full_clean
from mes.models import User
from mes.selectors import site_is_visible_to
from mes.signatures import Meaning, Signature, signature_reauthenticate, signature_sign
from traceability.models import RECORD_TRANSITIONS, RecordComment, RecordReview, RecordSnapshot, RecordStatus
from traceability.record.exceptions import exceptions_for
from traceability.record.selectors import ProductionRecord, record_for, record_json
from workorders.models import WorkOrder
from workorders.states import WorkOrderStatus

REVIEW_PERMISSION = "traceability.review_record"
# A record is decided once production is over: what is still running can still change.
FINISHED = {WorkOrderStatus.COMPLETED, WorkOrderStatus.CLOSED}
DECISION_MEANING = {RecordStatus.RELEASED: Meaning.RELEASED, RecordStatus.REJECTED: Meaning.REJECTED}


def _check_reviewer(*, user: User, work_order: WorkOrder) -> None:
    if not user.has_perm(REVIEW_PERMISSION):
        raise Forbidden(gettext("Only quality reviews production records."), code="not_a_reviewer")
    if not site_is_visible_to(user, work_order.line.site_id):
        raise Forbidden(
            gettext("Order %(number)s is not in your sites.") % {"number": work_order.number},
            field="work_order",
            code="other_site",
        )


def _status(work_order: WorkOrder) -> str:
    review = RecordReview.objects.filter(work_order=work_order).first()
    return review.status if review is not None else RecordStatus.OPEN


def _lock_review(*, work_order: WorkOrder, user: User) -> RecordReview:
    """The order's review row, locked; made (in review) on first use."""
    review = RecordReview.objects.select_for_update().filter(work_order=work_order).first()
    if review is None:
        review = RecordReview(
            work_order=work_order, status=RecordStatus.IN_REVIEW, opened_by=user, opened_at=timezone.now()
        )
        full_clean(review)
        review._history_user = user
        review._change_reason = gettext_noop("Review opened")
        review.save()
    return review


def record_comment(*, work_order: WorkOrder, user: User, exception_key: str, text: str) -> RecordComment:
    """Comment on one exception of the order's record. Opens the review (in review) if it was open,
    and takes a rejected record back into review. Refused on a released record and for a key
    that is not an exception of the record as it is now."""
    _check_reviewer(user=user, work_order=work_order)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(gettext("Write a comment."), field="text", code="required")
    if len(text) > 1000:
        raise ValidationFailed(
            gettext("A comment holds at most 1000 characters."), field="text", code="too_long"
        )
    keys = {e.key for e in exceptions_for(record_for(work_order))}
    if exception_key not in keys:
        raise ValidationFailed(
            gettext("This is not an exception of the record."),
            field="exception_key",
            code="unknown_exception",
        )
    with transaction.atomic():
        review = _lock_review(work_order=work_order, user=user)
        if review.status == RecordStatus.RELEASED:
            raise Conflict(
                gettext("The record of %(number)s is released: it takes no more comments.")
                % {"number": work_order.number},
                field="status",
                code="released",
            )
        if review.status == RecordStatus.REJECTED:
            _move(review, RecordStatus.IN_REVIEW, user=user, reason=gettext_noop("Back in review"))
        comment = RecordComment(
            review=review, exception_key=exception_key, text=text, author=user, created_at=timezone.now()
        )
        full_clean(comment)
        comment._history_user = user
        comment._change_reason = gettext_noop("Comment")
        comment.save()
        return comment


def _move(review: RecordReview, target: str, *, user: User, reason: str) -> None:
    RECORD_TRANSITIONS.require(
        review.status,
        target,
        record=gettext("The record of %(number)s") % {"number": review.work_order.number},
    )
    review.status = target
    review._history_user = user
    review._change_reason = reason
    review.save()


def record_release(*, work_order: WorkOrder, user: User, password: str = "", comment: str = "", request=None):
    """Release the order's record with the reviewer's e-signature (meaning "released").

    Guarantees: the order is completed or closed; every exception has a comment; the review row
    holds the record's hash as released and the signature covers it; a second release is refused.
    """
    return _decide(
        work_order=work_order,
        user=user,
        target=RecordStatus.RELEASED,
        password=password,
        comment=comment,
        request=request,
    )


def record_reject(*, work_order: WorkOrder, user: User, password: str = "", comment: str = "", request=None):
    """Reject the order's record with the reviewer's e-signature (meaning "rejected"); the
    comment, required, says why and is the signature's comment."""
    if not (comment or "").strip():
        raise ValidationFailed(gettext("Say why the record is rejected."), field="comment", code="required")
    return _decide(
        work_order=work_order,
        user=user,
        target=RecordStatus.REJECTED,
        password=password,
        comment=comment,
        request=request,
    )


def _decide(
    *, work_order: WorkOrder, user: User, target: str, password: str, comment: str, request
) -> tuple[RecordReview, Signature, ProductionRecord]:
    _check_reviewer(user=user, work_order=work_order)
    comment = (comment or "").strip()
    if len(comment) > 500:
        raise ValidationFailed(
            gettext("The comment holds at most 500 characters."), field="comment", code="too_long"
        )
    RECORD_TRANSITIONS.require(
        _status(work_order),
        target,
        record=gettext("The record of %(number)s") % {"number": work_order.number},
    )
    if work_order.status not in FINISHED:
        raise Conflict(
            gettext("Order %(number)s is %(status)s: its record is decided once it is completed.")
            % {"number": work_order.number, "status": work_order.get_status_display().lower()},
            field="work_order",
            code="order_not_finished",
        )
    if target == RecordStatus.RELEASED:
        _check_every_exception_commented(work_order)
    if not password:
        raise ValidationFailed(gettext("Enter your password to sign."), field="password", code="required")
    # Outside the transaction: a wrong password is counted toward lock-out though nothing else is written.
    reauth = signature_reauthenticate(signer=user, password=password, request=request)
    with transaction.atomic():
        review = _lock_review(work_order=work_order, user=user)
        record = record_for(work_order)
        RECORD_TRANSITIONS.require(
            review.status, target, record=gettext("The record of %(number)s") % {"number": work_order.number}
        )
        if target == RecordStatus.RELEASED:
            _check_every_exception_commented(work_order, record=record, review=review)
        review.record_hash = record.content_hash
        review.decided_by = user
        review.decided_at = timezone.now()
        RecordSnapshot.objects.create(
            review=review,
            status=target,
            content=record_json(record.content),
            content_hash=record.content_hash,
            taken_at=review.decided_at,
        )
        review.decision_note = comment
        _move(review, target, user=user, reason=RecordStatus(target).label)
        signature = signature_sign(
            record=review,
            signer=user,
            meaning=DECISION_MEANING[target],
            reauth=reauth,
            comment=comment,
        )
        return review, signature, record


def _check_every_exception_commented(
    work_order: WorkOrder, *, record: ProductionRecord | None = None, review: RecordReview | None = None
) -> None:
    """Review by exception: each exception is answered by a comment before the record is released."""
    record = record or record_for(work_order)
    keys = {e.key for e in exceptions_for(record)}
    if review is None:
        review = RecordReview.objects.filter(work_order=work_order).first()
    commented = set(review.comments.values_list("exception_key", flat=True)) if review is not None else set()
    missing = keys - commented
    if missing:
        raise ValidationFailed(
            ngettext(
                "%(count)d exception without a comment: comment on each before releasing.",
                "%(count)d exceptions without a comment: comment on each before releasing.",
                len(missing),
            )
            % {"count": len(missing)},
            field="comments",
            code="exceptions_not_commented",
        )
