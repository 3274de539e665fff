"""The desk forms of production, one per action: the board's new order, status change and move,
and the receiving page's supplier lot.

A form parses what was posted (a record's id, a date and time, a key) and says at which field a
value is wrong; the service still decides everything the business rules say, and its refusal is
put back on the form (`mes.forms.refuse`), so the page shows it at the field with what was typed.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from mes.errors import ValidationFailed
from mes.filters import BIGINT_MAX
from mes.forms import ModelChoiceField, TypedDecimalField
from mes.idempotency import parse_key
from mes.models import Line, Site
from mes.selectors import sites_visible_to
from workorders.models import Product, Routing


def _choose(message: str) -> dict[str, str]:
    """The same message for a choice left empty, unknown or malformed."""
    return {"required": message, "invalid_choice": message, "invalid_pk_value": message}


class WorkOrderCreateForm(forms.Form):
    """A draft order on one of the lines the supervisor sees. The number and quantity are the
    service's to check, so its messages stay the ones the API gives."""

    number = forms.CharField(required=False)
    routing = ModelChoiceField(
        queryset=Routing.objects.select_related("product"), error_messages=_choose(_("Choose a routing."))
    )
    line = ModelChoiceField(queryset=Line.objects.none(), error_messages=_choose(_("Choose a line.")))
    quantity = TypedDecimalField(label=_("Quantity"))  # as typed, in the page's language
    due = forms.CharField(required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["line"].queryset = Line.objects.filter(site__in=sites_visible_to(user))

    def clean_due(self):
        text = self.cleaned_data["due"]
        if not text:
            return None
        try:
            due = parse_datetime(text)
        except ValueError:  # well formed but no such day or time (the 30th of February)
            raise ValidationError(_("The due date is not a day of the calendar.")) from None
        if due is None:
            raise ValidationError(_("The due date is not a date and time."))
        return due


class WorkOrderTransitionForm(forms.Form):
    """A status change of a board row; "resume" takes the order off hold. The version is the one
    the row showed, so a change made on a stale row is refused."""

    status = forms.CharField(required=False)
    idempotency_key = forms.CharField(required=False)
    version = forms.IntegerField(
        required=False, min_value=0, max_value=BIGINT_MAX, error_messages={"invalid": _("Reload the board.")}
    )
    reason = forms.CharField(required=False, strip=False)
    reason_code = forms.CharField(required=False)
    # A completion over the guards' refusals: the supervisor's password signs the override.
    override = forms.BooleanField(required=False)
    password = forms.CharField(required=False, strip=False)

    def clean_idempotency_key(self):
        try:
            return parse_key(self.cleaned_data["idempotency_key"])
        except ValidationFailed as exc:
            raise ValidationError(exc.message) from None


class WorkOrderMoveForm(forms.Form):
    direction = forms.ChoiceField(
        choices=[("up", "up"), ("down", "down")],
        error_messages={"required": _("Move up or down."), "invalid_choice": _("Move up or down.")},
    )


class LotReceiveForm(forms.Form):
    """A supplier lot received at a site the supervisor works at: without a site chosen, their
    only site."""

    product = ModelChoiceField(
        queryset=Product.objects.filter(active=True),
        to_field_name="part_number",
        error_messages={"required": _("Choose a part."), "invalid_choice": _("There is no part %(value)s.")},
    )
    site = ModelChoiceField(
        queryset=Site.objects.none(), required=False, error_messages=_choose(_("Choose a site you work at."))
    )
    quantity = TypedDecimalField(label=_("Quantity"))  # as typed, in the page's language
    supplier = forms.CharField(required=False)
    supplier_lot = forms.CharField(required=False)
    code = forms.CharField(required=False)
    reason = forms.CharField(required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites_visible_to(user)

    def clean_site(self):
        site = self.cleaned_data["site"]
        if site is None:
            candidates = list(self.fields["site"].queryset[:2])
            site = candidates[0] if len(candidates) == 1 else None
        if site is None:
            raise ValidationError(_("Choose a site you work at."))
        return site
