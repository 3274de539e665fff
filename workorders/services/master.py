"""Master data (products, BOM lines, routings, reason codes): validated saves that leave history."""

from __future__ import annotations

from django.db import models, transaction
from django.utils.translation import gettext as _

from mes.errors import Conflict, ValidationFailed, full_clean
from mes.models import User
from workorders.models import BomLine, Routing, RoutingOperation
from workorders.services.lots import bom_check_acyclic

# The history keeps this much of a reason (simple-history's column).
REASON_MAX_LENGTH = 100


def _require_reason(reason: str) -> str:
    """Every change to master data says why (Part 11 §11.10(e)); nothing fills one in."""
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationFailed(_("Give a reason for the change."), field="reason", code="reason_required")
    return reason[:REASON_MAX_LENGTH]


@transaction.atomic
def master_data_save(*, instance: models.Model, user: User, reason: str) -> models.Model:
    """Validate and save one master-data record, with its author and reason in the history.

    A BOM line whose component already contains the product (at any depth) is refused: BOMs stay
    acyclic, which keeps the genealogy a DAG."""
    reason = _require_reason(reason)
    full_clean(instance)
    if isinstance(instance, BomLine):
        bom_check_acyclic(product=instance.product, component=instance.component)
    instance._history_user = user
    instance._change_reason = reason
    instance.save()
    return instance


@transaction.atomic
def routing_save(*, routing: Routing, operations: list[dict] | None, user: User, reason: str) -> Routing:
    """Save a routing and, when given, replace its operations (released orders keep their copies)."""
    reason = _require_reason(reason)
    master_data_save(instance=routing, user=user, reason=reason)
    if operations is not None:
        sequences = [op["sequence"] for op in operations]
        if len(set(sequences)) != len(sequences):
            raise Conflict(
                _("Two operations share a sequence number."), field="operations", code="duplicate_sequence"
            )
        for existing in routing.operations.all():
            existing._history_user = user
            existing._change_reason = reason
            existing.delete()
        for op in operations:
            master_data_save(instance=RoutingOperation(routing=routing, **op), user=user, reason=reason)
    return routing


@transaction.atomic
def master_data_delete(*, instance: models.Model, user: User, reason: str) -> None:
    """Delete a record nothing refers to; records in use are refused (deactivate them instead)."""
    instance._history_user = user
    instance._change_reason = _require_reason(reason)
    try:
        with transaction.atomic():
            instance.delete()
    except models.ProtectedError:
        raise Conflict(
            _("%(instance)s is in use; deactivate it instead.") % {"instance": instance}, code="in_use"
        ) from None
