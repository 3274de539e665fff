"""Lifecycles of the integration, as data: outbound message states and types, inbound outcomes."""

from django.db import models

from mes.transitions import Transitions


class MessageStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent, awaiting the ERP's answer"
    ACKNOWLEDGED = "acknowledged", "Acknowledged (posted)"
    REJECTED = "rejected", "Rejected by the ERP"
    DEAD = "dead", "Dead letter"
    SKIPPED = "skipped", "Skipped by a supervisor"


M = MessageStatus
# Moves the delivery makes by itself; a person moves rejected and dead messages on (retry, skip).
MESSAGE_TRANSITIONS = Transitions(
    M,
    {
        M.PENDING: {M.SENT, M.SKIPPED},
        M.SENT: {M.ACKNOWLEDGED, M.REJECTED, M.DEAD, M.PENDING},
        M.ACKNOWLEDGED: set(),
        M.REJECTED: {M.PENDING, M.SKIPPED},
        M.DEAD: {M.PENDING, M.SKIPPED},
        M.SKIPPED: set(),
    },
)
# Waiting for a person: the human queue.
NEEDS_ATTENTION = {M.REJECTED, M.DEAD}
# Still on their way to the ERP.
IN_QUEUE = {M.PENDING, M.SENT}


can_transition = MESSAGE_TRANSITIONS.allowed


class MessageType(models.TextChoices):
    """What the ERP hears. Consumption arrives with traceability (lot consumption events)."""

    COMPLETION = "completion", "Completion (good quantity)"
    SCRAP = "scrap", "Scrap"
    ORDER_STATUS = "order_status", "Order status change"
    CONSUMPTION = "consumption", "Material consumption"


class InboundOutcome(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    UNCHANGED = "unchanged", "Unchanged (repeat)"
    REFUSED = "refused", "Refused"


class InboundKind(models.TextChoices):
    PRODUCT = "product", "Product"
    BOM = "bom", "Bill of materials"
    ROUTING = "routing", "Routing"
    WORK_ORDER = "work_order", "Work order"
    UNKNOWN = "unknown", "Unreadable"
