"""Read side of the integration: the console's snapshot and the reconciliation per work order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, Min, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from integration.config import ErpConfig, erp_config
from integration.models import InboundRecord, OutboxMessage
from integration.states import InboundOutcome, MessageStatus, MessageType
from mes.selectors import records_visible_to, sees_every_site
from workorders.models import WorkOrder
from workorders.states import WorkOrderStatus

M = MessageStatus
ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=14, decimal_places=3))
RATE_WINDOW = timedelta(minutes=5)


@dataclass
class ConsoleSnapshot:
    config: ErpConfig | None
    by_status: dict[str, int]
    queue_depth: int
    oldest_pending_at: datetime | None
    oldest_pending_seconds: float | None
    delivered_last_window: int
    delivery_rate_per_min: float
    recent_failures: list[OutboxMessage]
    human_queue: list[OutboxMessage]
    refused_inbound: list[InboundRecord]


def messages_visible_to(user):
    """The outbox messages of orders on the sites `user` may see."""
    return records_visible_to(user, OutboxMessage.objects.all())


def refused_inbound_visible_to(user, *, limit: int = 20) -> list[InboundRecord]:
    """What the ERP sent and the MES refused, newest first. A refused record belongs to no site
    (it may name an order or a line of any site), so only people who see every site see them."""
    if not sees_every_site(user):
        return []
    return list(InboundRecord.objects.filter(outcome=InboundOutcome.REFUSED).select_related("user")[:limit])


def console_snapshot(*, user, now: datetime | None = None, limit: int = 50) -> ConsoleSnapshot:
    """The outbox's health as `user` sees it: counts, ages and queues of their sites' messages."""
    now = now or timezone.now()
    messages = messages_visible_to(user)
    counts = dict(messages.values_list("status").annotate(n=Count("id")).order_by())
    by_status = {status: counts.get(status, 0) for status in M.values}
    oldest = messages.filter(status__in=[M.PENDING, M.SENT]).aggregate(t=Min("created_at"))["t"]
    delivered = messages.filter(status=M.ACKNOWLEDGED, acknowledged_at__gte=now - RATE_WINDOW).count()
    light = messages.select_related("work_order")
    return ConsoleSnapshot(
        config=erp_config(),
        by_status=by_status,
        queue_depth=by_status[M.PENDING] + by_status[M.SENT],
        oldest_pending_at=oldest,
        oldest_pending_seconds=(now - oldest).total_seconds() if oldest else None,
        delivered_last_window=delivered,
        delivery_rate_per_min=delivered / (RATE_WINDOW.total_seconds() / 60),
        recent_failures=list(
            light.filter(status__in=[M.PENDING, M.SENT])
            .exclude(last_error="")
            .order_by("-last_attempt_at")[:20]
        ),
        human_queue=list(light.filter(status__in=[M.REJECTED, M.DEAD]).order_by("id")[:limit]),
        refused_inbound=refused_inbound_visible_to(user),
    )


@dataclass
class ReconciliationRow:
    number: str
    status: str
    part_number: str
    mes_good: Decimal
    mes_scrap: Decimal
    erp_good: Decimal
    erp_scrap: Decimal
    in_queue: int
    needs_attention: int

    @property
    def good_difference(self) -> Decimal:
        return self.mes_good - self.erp_good

    @property
    def scrap_difference(self) -> Decimal:
        return self.mes_scrap - self.erp_scrap

    @property
    def matches(self) -> bool:
        return not self.good_difference and not self.scrap_difference


def reconciliation(*, user, mismatches_only: bool = False) -> list[ReconciliationRow]:
    """MES good and scrap per order of the sites `user` may see against what the ERP
    acknowledged, in one query.

    ERP good counts acknowledged completions at the order's last operation (the yield the ERP books);
    ERP scrap counts acknowledged scrap at every operation, like the MES's order scrap.
    """
    acknowledged = Q(outbox_messages__status=M.ACKNOWLEDGED)
    orders = (
        records_visible_to(user, WorkOrder.objects.exclude(status=WorkOrderStatus.DRAFT))
        .annotate(
            erp_good=Coalesce(
                Sum(
                    "outbox_messages__event__quantity",
                    filter=acknowledged
                    & Q(outbox_messages__message_type=MessageType.GOOD)
                    & Q(outbox_messages__payload__operation__last=True),
                ),
                ZERO,
            ),
            erp_scrap=Coalesce(
                Sum(
                    "outbox_messages__event__quantity",
                    filter=acknowledged & Q(outbox_messages__message_type=MessageType.SCRAP),
                ),
                ZERO,
            ),
            in_queue=Count("outbox_messages", filter=Q(outbox_messages__status__in=[M.PENDING, M.SENT])),
            needs_attention=Count(
                "outbox_messages", filter=Q(outbox_messages__status__in=[M.REJECTED, M.DEAD])
            ),
        )
        .values_list(
            "number",
            "status",
            "product__part_number",
            "quantity_good",
            "quantity_scrap",
            "erp_good",
            "erp_scrap",
            "in_queue",
            "needs_attention",
        )
        .order_by("number")
    )
    rows = [ReconciliationRow(*values) for values in orders]
    return [r for r in rows if not r.matches] if mismatches_only else rows


def outbox_gauges() -> dict[str, float]:
    """The outbox as the plant's monitoring sees it (read at each /metrics scrape): messages
    waiting (pending or sent and not yet answered), the age of the oldest pending one, dead letters."""
    counts = OutboxMessage.objects.aggregate(
        waiting=Count("pk", filter=Q(status__in=[M.PENDING, M.SENT])),
        dead=Count("pk", filter=Q(status=M.DEAD)),
        oldest=Min("created_at", filter=Q(status=M.PENDING)),
    )
    oldest = counts["oldest"]
    return {
        "depth": counts["waiting"],
        "oldest_pending_age_seconds": (timezone.now() - oldest).total_seconds() if oldest else 0.0,
        "dead_letters": counts["dead"],
    }
