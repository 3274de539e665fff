"""The forms due at a workstation, as a reminder on the tablet's queue (registered in `apps.py`)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext

from quality.selectors import forms_for
from workorders.extensions import Reminder

FILL = "quality.fill_checklist"


def forms_due(workstation, user) -> Reminder | None:
    """The forms due now at `workstation` (start-of-shift checks and the like), late ones first;
    None for a person who may not fill them."""
    if not user.has_perm(FILL):
        return None
    due = [f for f in forms_for(workstation) if f.due_since is not None]
    return Reminder(
        key="forms",
        label=gettext("Forms due"),
        url=reverse("quality_forms"),
        items=tuple((f.assignment.template.title, f.overdue) for f in due),
    )
