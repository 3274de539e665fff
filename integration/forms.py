"""The console's forms: what a supervisor sends, read through Django's form fields, and the place a
refusal shows up — at the field it names, with what was typed kept for the next try."""

from __future__ import annotations

from django import forms

from mes.errors import MesError
from mes.forms import refuse


class MessageResolveForm(forms.Form):
    """Retry or skip one message of the human queue.

    The reason is not required here: the outbox service refuses a blank one in its own words
    ("Say why you retry this message."), which the desk and any other caller then share.
    """

    reason = forms.CharField(required=False)

    def refuse(self, exc: MesError) -> None:
        """Show a service's refusal at the field it names, or above the form when it names none."""
        refuse(self, exc)
