"""Lifecycles of the integration, as data: outbound message states and types, inbound outcomes."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from mes.transitions import Transitions


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent, awaiting the ERP's answer")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged (posted)")
    REJECTED = "rejected", _("Rejected by the ERP")
    DEAD = "dead", _("Dead letter")
    SKIPPED = "skipped", _("Skipped by a supervisor")


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

    # Good units, sent under the code "completion" the ERP has agreed with since the first
    # message; outbox rows are sealed with their code, so it stays as it is.
    GOOD = "completion", _("Good quantity")
    SCRAP = "scrap", _("Scrap")
    ORDER_STATUS = "order_status", _("Order status change")
    CONSUMPTION = "consumption", _("Material consumption")
    # Each person's time on an operation once its labor closes (see integration.labor).
    LABOR = "labor", _("Labor confirmation")


class InboundOutcome(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")
    UNCHANGED = "unchanged", _("Unchanged (repeat)")
    REFUSED = "refused", _("Refused")


class InboundKind(models.TextChoices):
    PRODUCT = "product", _("Product")
    BOM = "bom", _("Bill of materials")
    ROUTING = "routing", _("Routing")
    WORK_ORDER = "work_order", _("Work order")
    UNKNOWN = "unknown", _("Unreadable")
