"""Edits in the Django admin carry a reason, like every other change to a regulated record.

Part 11 §11.10(e) asks the audit trail to say who changed what, when and why. The services take
the reason from the person acting; the admin's change forms are another way in, so a record kept
with history gets a required "Reason for the change" field on its add and change form (and on
simple-history's revert form, which is built from the same form). The reason and the signed-in
person go onto the history row of the record and of every inline row saved with it.

Deleting in the admin is refused: Django's delete confirmation has no form to carry a reason, and
a deletion with none would leave a history row that says nothing of why. Records are deactivated
instead, or deleted through the service that asks for a reason.
"""

from __future__ import annotations

from django import forms
from django.contrib.admin.utils import flatten_fieldsets
from django.utils.translation import gettext
from simple_history.admin import SimpleHistoryAdmin

REASON_FIELD = "change_reason"
# simple-history's `history_change_reason` column.
REASON_MAX_LENGTH = 100


def _mark(instance, *, user, reason: str) -> None:
    instance._history_user = user
    instance._change_reason = reason


class ChangeReasonMixin:
    """A ModelAdmin mixin: a required reason on the change form, written to the history rows."""

    reason_help_text = "Why this change is made; it is kept in the record's history."

    def get_fields(self, request, obj=None):
        return [field for field in super().get_fields(request, obj) if field != REASON_FIELD]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (name, {**options, "fields": [f for f in options["fields"] if f != REASON_FIELD]})
            for name, options in super().get_fieldsets(request, obj)
        ]
        return [*fieldsets, ("Reason for the change", {"fields": [REASON_FIELD]})]

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The model form is built from the model's fields only; the reason is added below.
        fields = (
            kwargs["fields"] if "fields" in kwargs else flatten_fieldsets(self.get_fieldsets(request, obj))
        )
        if fields is not None:
            kwargs["fields"] = [f for f in fields if f != REASON_FIELD]
        form = super().get_form(request, obj, change=change, **kwargs)
        reason = forms.CharField(
            label=gettext("Reason for the change"),
            max_length=REASON_MAX_LENGTH,
            required=True,
            strip=True,
            help_text=self.reason_help_text,
        )
        return type(form.__name__, (form,), {REASON_FIELD: reason})

    def save_model(self, request, obj, form, change):
        _mark(obj, user=request.user, reason=form.cleaned_data[REASON_FIELD])
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        """Inline rows saved with the record carry the same person and reason."""
        reason = form.cleaned_data[REASON_FIELD]
        for instance in formset.save(commit=False):
            _mark(instance, user=request.user, reason=reason)
            instance.save()
        for instance in formset.deleted_objects:
            _mark(instance, user=request.user, reason=reason)
            instance.delete()
        formset.save_m2m()

    def has_delete_permission(self, request, obj=None):
        return False


class ReasonedHistoryAdmin(ChangeReasonMixin, SimpleHistoryAdmin):
    """The admin of a record kept with history: every save through it states why."""
