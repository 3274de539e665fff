"""Read side of the review: one record with its exceptions, comments, signatures and seal, and the
auditor's list of records by status."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import CharField, F, QuerySet, Value
from django.db.models.functions import Coalesce

from mes.selectors import records_visible_to
from mes.signatures import Manifestation, manifestations
from traceability.models import RecordComment, RecordReview, RecordStatus
from traceability.record.exceptions import RecordException, exceptions_for, summary
from traceability.record.selectors import (
    ProductionRecord,
    decided_contents,
    hash_as_decided,
    record_for,
    record_json,
)
from workorders.models import WorkOrder
from workorders.states import WorkOrderStatus

# Orders with a record worth reviewing: production has happened on them.
WITH_RECORD = [
    WorkOrderStatus.IN_PROGRESS,
    WorkOrderStatus.ON_HOLD,
    WorkOrderStatus.COMPLETED,
    WorkOrderStatus.CLOSED,
]


@dataclass
class RecordView:
    """What the review page, the JSON and the PDF show of one record."""

    record: ProductionRecord
    exceptions: list[RecordException]
    review: RecordReview | None
    comments: dict[str, list[RecordComment]] = field(default_factory=dict)
    signatures: list[Manifestation] = field(default_factory=list)
    decided_content: dict | None = None  # the snapshot of the record as decided, if kept

    @property
    def status(self) -> str:
        return self.review.status if self.review is not None else RecordStatus.OPEN

    @property
    def status_label(self) -> str:
        return str(RecordStatus(self.status).label)

    @property
    def summary(self) -> str:
        return summary(self.exceptions)

    @property
    def content_hash(self) -> str:
        return self.record.content_hash

    @property
    def sealed(self) -> bool:
        return (
            self.review is not None
            and bool(self.review.record_hash)
            and self.status != RecordStatus.IN_REVIEW
        )

    @property
    def seal_intact(self) -> bool | None:
        """None when not sealed; else whether the record still hashes to what was signed and the
        signature still matches the review it signed."""
        if not self.sealed:
            return None
        now = hash_as_decided(self.record, self.decided_content)
        return self.review.record_hash == now and all(s.intact for s in self.signatures)

    @property
    def uncommented(self) -> int:
        return sum(1 for e in self.exceptions if not self.comments.get(e.key))

    def exception_rows(self) -> list[tuple[RecordException, list[RecordComment]]]:
        return [(e, self.comments.get(e.key, [])) for e in self.exceptions]


def record_view(work_order: WorkOrder) -> RecordView:
    record = record_for(work_order)
    review = RecordReview.objects.filter(work_order=work_order).select_related("decided_by").first()
    comments: dict[str, list[RecordComment]] = defaultdict(list)
    signatures: list[Manifestation] = []
    if review is not None:
        for c in review.comments.select_related("author").order_by("created_at", "pk"):
            comments[c.exception_key].append(c)
        signatures = manifestations(review)
    return RecordView(
        record=record,
        exceptions=exceptions_for(record),
        review=review,
        comments=dict(comments),
        signatures=signatures,
        decided_content=decided_contents([review]).get(review.pk) if review is not None else None,
    )


def record_view_data(view: RecordView) -> dict:
    """The record view as JSON: status, seal, exceptions with comments, then the record."""
    review = view.review
    return {
        "order": view.record.work_order.number,
        "status": view.status,
        "order_status": view.record.order_status,
        "content_hash": view.content_hash,
        "sealed": view.sealed,
        "seal_intact": view.seal_intact,
        "released_hash": review.record_hash if review is not None else "",
        "summary": view.summary,
        "exceptions": [
            {
                **e.as_dict(),
                "comments": [
                    {"text": c.text, "by": c.author.printed_name, "at": c.created_at.isoformat()}
                    for c in view.comments.get(e.key, [])
                ],
            }
            for e in view.exceptions
        ],
        "signatures": [
            {
                "printed_name": s.printed_name,
                "meaning": s.meaning,
                "signed_at": s.signed_at.isoformat(),
                "intact": s.intact,
                "comment": s.comment,
                "manifestation": str(s),
            }
            for s in view.signatures
        ],
        "lot_status": view.record.lot_status,
        "record": record_json(view.record.content),
    }


def records_for(
    user,
    *,
    status: str = "",
    site: str = "",
    line: str = "",
    product: str = "",
    number: str = "",
    completed_from: datetime | None = None,
    completed_to: datetime | None = None,
) -> QuerySet[WorkOrder]:
    """Orders with a record that `user` may see, each annotated with `record_status`, newest
    completion first; filtered by record status, site, line, product, order number (part of it)
    and completion time."""
    rows = (
        records_visible_to(user, WorkOrder.objects.filter(status__in=WITH_RECORD))
        .select_related("product", "line__site")
        .annotate(
            record_status=Coalesce(
                F("record_review__status"), Value(RecordStatus.OPEN, output_field=CharField())
            ),
            record_decided_at=F("record_review__decided_at"),
        )
    )
    if status:
        rows = rows.filter(record_status=status)
    if site:
        rows = rows.filter(line__site__code=site)
    if line:
        rows = rows.filter(line__code=line)
    if product:
        rows = rows.filter(product__part_number=product)
    if number:
        rows = rows.filter(number__icontains=number)
    if completed_from is not None:
        rows = rows.filter(completed_at__gte=completed_from)
    if completed_to is not None:
        rows = rows.filter(completed_at__lt=completed_to)
    return rows.order_by(F("completed_at").desc(nulls_first=True), "-pk")
