"""The forms of the record review page: a comment on an exception, a signed decision."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from traceability.models import RecordStatus

STATUSES = [("", _("Any status")), *RecordStatus.choices]


class CommentForm(forms.Form):
    exception_key = forms.CharField(max_length=120, widget=forms.HiddenInput)
    text = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


class DecisionForm(forms.Form):
    """Release or reject; the password is the e-signature. The service says what is missing (the
    password, the reason of a rejection) so one rule holds for the page and the API."""

    password = forms.CharField(required=False, strip=False, widget=forms.PasswordInput)
    comment = forms.CharField(required=False, max_length=500)


class RecordFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=STATUSES, required=False)
    site = forms.CharField(label=_("Site"), max_length=32, required=False)
    line = forms.CharField(label=_("Line"), max_length=32, required=False)
    product = forms.CharField(label=_("Product"), max_length=64, required=False)
    number = forms.CharField(label=_("Number"), max_length=64, required=False)
    completed_from = forms.DateTimeField(label=_("Completed from"), required=False)
    completed_to = forms.DateTimeField(label=_("Completed to"), required=False)
