"""Every write of the integration goes through these functions."""

from integration.services.outbox import (
    DeliveryReport,
    backoff_seconds,
    outbox_claim,
    outbox_deliver_due,
    outbox_reclaim_expired,
    outbox_retry,
    outbox_skip,
)

__all__ = [
    "DeliveryReport",
    "backoff_seconds",
    "outbox_claim",
    "outbox_deliver_due",
    "outbox_reclaim_expired",
    "outbox_retry",
    "outbox_skip",
]
