"""The forms of traceability's desk pages."""

from __future__ import annotations

from django import forms

PARAMS = ("code", "direction", "model", "record", "user", "start", "end")


class ReportRequestForm(forms.Form):
    """Ask for a report. The service checks the kind and what it needs (an unknown serial, a
    period that is no period) and names the field at fault; the form only reads the fields, so a
    value no field could hold (a NUL) is refused at its field before the service sees it."""

    kind = forms.CharField(required=False)
    code = forms.CharField(required=False)
    direction = forms.CharField(required=False)
    model = forms.CharField(required=False)
    record = forms.CharField(required=False)
    user = forms.CharField(required=False)
    start = forms.CharField(required=False)
    end = forms.CharField(required=False)

    def params(self) -> dict:
        return {name: self.cleaned_data[name] for name in PARAMS}
