"""The seal of a released production record, checked by `verify_audit_trail`.

A release stores the hash of the record as released (`RecordReview.record_hash`) and signs the
review row, whose signed content holds that hash. The seal is broken when the record assembled now
hashes otherwise (a fact it covers changed after the release: an edit after the fact, a late
event), when the release signature no longer matches the review row, or when a released review
has no release signature at all. Registered with the kernel's verify from
`TraceabilityConfig.ready` (`mes.seal.register_seal_check`).

A rejected record is not checked: it goes back into review when production answers, and its
content may change until it is released.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.contenttypes.models import ContentType

from mes.seal import BrokenSeal
from mes.signatures import Meaning, Signature, content_hash
from traceability.models import RecordReview, RecordStatus
from traceability.record.selectors import decided_contents, hash_as_decided, record_for

CHUNK = 200


def _release_signatures(reviews: list[RecordReview]) -> dict[str, list[Signature]]:
    ct = ContentType.objects.get_for_model(RecordReview)
    found: dict[str, list[Signature]] = {}
    rows = Signature.objects.filter(
        content_type=ct, object_id__in=[str(r.pk) for r in reviews], meaning=Meaning.RELEASED
    )
    for s in rows:
        found.setdefault(s.object_id, []).append(s)
    return found


def review_seal_problems(
    review: RecordReview, signatures: list[Signature], decided_content: dict | None = None
) -> list[str]:
    """What no longer matches in a released review's seal; empty while it holds."""
    problems = []
    if not signatures:
        problems.append("released without a release signature")
    signed = content_hash(review)
    if any(s.content_hash != signed for s in signatures):
        problems.append("the release signature no longer matches the review it signed")
    now = hash_as_decided(record_for(review.work_order), decided_content)
    if now != review.record_hash:
        problems.append(
            f"what it covers changed after its release (released {review.record_hash[:16]}…, now {now[:16]}…)"
        )
    return problems


def broken_record_seals() -> Iterator[BrokenSeal]:
    """Every released record whose seal is broken, oldest release first. Assembles each released
    record once (the cost of the check: one record's assembly per released order)."""
    released = (
        RecordReview.objects.filter(status=RecordStatus.RELEASED)
        .select_related("work_order")
        .order_by("decided_at", "pk")
    )
    chunk: list[RecordReview] = []
    for review in released.iterator(chunk_size=CHUNK):
        chunk.append(review)
        if len(chunk) == CHUNK:
            yield from _check(chunk)
            chunk = []
    if chunk:
        yield from _check(chunk)


def _check(reviews: list[RecordReview]) -> Iterator[BrokenSeal]:
    signatures = _release_signatures(reviews)
    decided = decided_contents(reviews)
    for review in reviews:
        problems = review_seal_problems(review, signatures.get(str(review.pk), []), decided.get(review.pk))
        if problems:
            yield BrokenSeal(
                record=f"production record of order {review.work_order.number}", detail="; ".join(problems)
            )
