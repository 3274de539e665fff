"""Forms: templates assigned to a workstation or a line on a schedule, or filled on demand."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from mes.errors import ValidationFailed
from mes.models import Line, User, Workstation
from quality.models import ChecklistTemplate, FormAssignment
from quality.services.records import require, save
from quality.states import Schedule


@transaction.atomic
def form_assign(
    *,
    template: ChecklistTemplate,
    schedule: str,
    user: User,
    workstation: Workstation | None = None,
    line: Line | None = None,
    weekday: int | None = None,
) -> FormAssignment:
    """Assign a template as a form at a workstation or on a line (exactly one of them)."""
    require(user, "quality.add_formassignment", _("Only quality may assign forms."))
    if schedule not in Schedule.values:
        raise ValidationFailed(_("Choose a schedule."), field="schedule", code="unknown_schedule")
    if (workstation is None) == (line is None):
        raise ValidationFailed(_("Choose a workstation or a line."), field="workstation", code="required")
    if schedule == Schedule.WEEKLY and not weekday:
        raise ValidationFailed(_("Choose the day of the week."), field="weekday", code="required")
    assignment = FormAssignment(
        template=template,
        schedule=schedule,
        workstation=workstation,
        line=line,
        weekday=weekday if schedule == Schedule.WEEKLY else None,
    )
    save(assignment, user=user, reason=gettext_noop("Form assigned"))
    return assignment
