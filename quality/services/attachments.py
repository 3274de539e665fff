"""Which checklists and SOPs a routing operation requires."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from mes.errors import ValidationFailed
from mes.models import User
from quality.models import ChecklistTemplate, OperationChecklist, OperationSop, SopDocument
from quality.services.records import lock, require, save
from quality.states import Trigger
from workorders.models import RoutingOperation


@transaction.atomic
def operation_checklist_attach(
    *,
    routing_operation: RoutingOperation,
    template: ChecklistTemplate,
    trigger: str,
    user: User,
    every_n_units: int | None = None,
) -> OperationChecklist:
    """Require a checklist at an operation of a routing, at start, at completion, every N units or
    once per shift. Orders already released pick it up too: the interlock reads the routing."""
    require(user, "quality.add_operationchecklist", _("Only quality may attach checklists."))
    if trigger not in Trigger.values:
        raise ValidationFailed(
            _("Choose when the checklist is due."), field="trigger", code="unknown_trigger"
        )
    if trigger == Trigger.EVERY_N_UNITS:
        try:
            every_n_units = int(every_n_units or 0)
        except (TypeError, ValueError):
            every_n_units = 0
        if every_n_units < 1:
            raise ValidationFailed(_("Say after how many units."), field="every_n_units", code="required")
    else:
        every_n_units = None
    if OperationChecklist.objects.filter(
        routing_operation=routing_operation, template=template, trigger=trigger
    ).exists():
        raise ValidationFailed(
            _("This checklist is attached there already."), field="template", code="duplicate"
        )
    attachment = OperationChecklist(
        routing_operation=routing_operation, template=template, trigger=trigger, every_n_units=every_n_units
    )
    save(attachment, user=user, reason=gettext_noop("Checklist attached"))
    return attachment


@transaction.atomic
def operation_checklist_detach(*, attachment_id: int, user: User) -> None:
    require(user, "quality.delete_operationchecklist", _("Only quality may detach checklists."))
    attachment = lock(OperationChecklist, attachment_id)
    attachment._history_user = user
    attachment._change_reason = gettext_noop("Checklist detached")
    attachment.delete()


@transaction.atomic
def operation_sop_attach(
    *, routing_operation: RoutingOperation, document: SopDocument, user: User
) -> OperationSop:
    require(user, "quality.add_operationsop", _("Only quality may attach SOPs."))
    link = OperationSop.objects.filter(routing_operation=routing_operation, document=document).first()
    if link is None:
        link = OperationSop(routing_operation=routing_operation, document=document)
        save(link, user=user, reason=gettext_noop("SOP attached"))
    return link
