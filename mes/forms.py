"""Reading the fields of a desk or tablet form: a record's id, a small number, a page to go back to.

Views used to read these with `int(request.POST[...])`, with `str.isdigit()` (which takes '²' for
a digit that `int()` refuses) or by handing the raw text to a query (`pk="abc"` raises inside the
ORM): each answered 500 to a hand-edited or garbled form. These read through Django's form
fields and refuse with `ValidationFailed` naming the field and the reason, which the views
already answer as they answer any refusal of a service (400, or the desk's message).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import formats
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mes.errors import MesError, ValidationFailed
from mes.filters import BIGINT_MAX


def _label(field: str) -> str:
    return field.replace("_", " ")


def posted_int(
    request,
    field: str,
    *,
    min_value: int | None = None,
    max_value: int | None = BIGINT_MAX,
    required: bool = False,
    message: str | None = None,
) -> int | None:
    """The whole number posted in `field`, within the bounds; None when the field is blank and
    not required. Refuses (ValidationFailed, field `field`) a blank required field with
    `message`, and a value that is no whole number within the bounds with `message` and why."""
    raw = request.POST.get(field, "")
    if not raw.strip():
        if required:
            raise ValidationFailed(
                message or gettext("Enter the %(field)s.") % {"field": _label(field)},
                field=field,
                code="required",
            )
        return None
    try:
        return forms.IntegerField(min_value=min_value, max_value=max_value).clean(raw)
    except ValidationError as exc:
        reason = exc.messages[0]
        text = (
            f"{message} {reason}"
            if message
            else gettext("The %(field)s: %(reason)s") % {"field": _label(field), "reason": reason}
        )
        raise ValidationFailed(text, field=field, code="invalid") from None


def posted_id(request, field: str, *, required: bool = True, message: str | None = None) -> int | None:
    """The id of the record chosen in `field` (a whole number from 1 up, as an id column holds);
    None when blank and not required. The message says what to choose (default "Choose a
    <field>."); a value that is no id adds why."""
    message = message or gettext("Choose a %(field)s.") % {"field": _label(field)}
    return posted_int(request, field, min_value=1, max_value=BIGINT_MAX, required=required, message=message)


# Digits and separators of an Arabic keyboard, read as the digits and separators they stand for.
_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_ARABIC_DECIMAL_SEPARATORS = ("\u066b", "\u060c")  # ARABIC DECIMAL SEPARATOR, ARABIC COMMA
_ARABIC_THOUSANDS_SEPARATOR = "\u066c"
_SPACES = re.compile(r"[\s\u00a0\u202f]+")


def typed_decimal(text, *, field: str, label: str | None = None) -> str:
    """A decimal a person typed in a form, read in the language of the request (German and
    Spanish "12,03", English "12.03"), as the machine text the services read ("12.03"); blank
    stays blank, and text that is no number is left for the service to refuse as it does.

    The rule: only the language's own decimal separator is read. A number with the other one
    ("12.03" or "1.234" on a German screen, "12,03" on an English one) is refused at `field`
    with the way to type it, never guessed: "1.234" is 1234 to a German reader and 1.234 to an
    English one, and a measured value stored a thousand times off is worse than asking once.
    Thousands separators are never read (the screens show none: USE_THOUSAND_SEPARATOR is off).
    The JSON API does not come here: machines send dot decimals whatever their language."""
    if text is None:
        return ""
    value = _SPACES.sub("", str(text)).translate(_ARABIC_DIGITS)
    if not value:
        return ""
    decimal_separator = formats.get_format("DECIMAL_SEPARATOR")
    for arabic in _ARABIC_DECIMAL_SEPARATORS:
        value = value.replace(arabic, decimal_separator)
    other = "." if decimal_separator == "," else ","
    if other in value or _ARABIC_THOUSANDS_SEPARATOR in value:
        example = formats.number_format(Decimal("12.03"), decimal_pos=2)
        name = label or _label(field).capitalize()
        if decimal_separator == ",":
            message = gettext("%(field)s: type the decimals after a comma, as in %(example)s.")
        else:
            message = gettext("%(field)s: type the decimals after a point, as in %(example)s.")
        raise ValidationFailed(
            message % {"field": name, "example": example}, field=field, code="decimal_separator"
        )
    return formats.sanitize_separators(value)


def typed_quantity(text) -> str:
    """`typed_decimal` of a quantity (a tap's, an order's, a lot's), refused at `quantity`."""
    return typed_decimal(text, field="quantity", label=gettext("Quantity"))


class TypedDecimalField(forms.CharField):
    """A desk form's decimal as the person typed it in their language, cleaned to the machine
    text the services read (`typed_decimal`); whether it is a number within bounds stays the
    service's to say, with the messages the API gives too."""

    def __init__(self, *, label=None, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(label=label, **kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        try:
            return typed_decimal(
                text, field="value", label=str(self.label) if self.label else gettext("Value")
            )
        except ValidationFailed as exc:
            raise ValidationError(exc.message, code=exc.code) from None


def local_url(request, target: str | None, fallback: str) -> str:
    """`target` when it is a URL of this site (a path, or a whole URL of this host, as a Referer
    is), else `fallback`. Any other text would not do: `redirect()` takes it for the name of a
    view, and one that names none ('²', 'x') raised NoReverseMatch, a 500."""
    if (
        target
        and (target.startswith("/") or "://" in target)
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return fallback


def _beyond_the_database(value) -> bool:
    text = str(value).strip()
    return bool(re.fullmatch(r"-?[0-9]+", text)) and abs(int(text)) > BIGINT_MAX


class ModelChoiceField(forms.ModelChoiceField):
    """Django's, but an id no database column can hold (beyond 64 bits) is an invalid choice: sent
    to the query it overflows SQLite's integer and answers 500."""

    def to_python(self, value):
        if value not in self.empty_values and _beyond_the_database(value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's, with ids beyond 64 bits refused as invalid choices (see `ModelChoiceField`)."""

    def _check_values(self, value):
        for pk in value:
            if _beyond_the_database(pk):
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super()._check_values(value)


def refusal(form: forms.Form) -> ValidationFailed:
    """The first error of a bound form that did not validate, as the refusal a view answers with
    (the field at fault, and why); the form keeps every error for the page."""
    field, errors = next(iter(form.errors.items()))
    return ValidationFailed(errors[0], field=None if field == "__all__" else field)


def refuse(form: forms.Form, exc: ValidationFailed | Exception) -> None:
    """Put a service's refusal on the form, once: at its field when the form has that field, else
    above the form."""
    if form._errors is None:
        form.full_clean()
    field = getattr(exc, "field", None)
    field = field if field in form.fields else None
    message = getattr(exc, "message", str(exc))
    if message not in form.errors.get(field or "__all__", []):
        form.add_error(field, message)


def checked(form: forms.Form) -> dict:
    """What was typed, or the refusal naming the first field that is not right."""
    if not form.is_valid():
        raise refusal(form)
    return form.cleaned_data


def notify(response: HttpResponse, level: str, message: str) -> HttpResponse:
    """Have the page show `message` as a notice (`mes:notice`, shown by static/js/mes.js)."""
    response["HX-Trigger"] = json.dumps({"mes:notice": {"level": level, "message": message}})
    return response


def refusal_text(exc: MesError) -> str:
    return f"{exc.field + ': ' if exc.field else ''}{exc.message}"


def answer_refused(request, exc: MesError, *, page: str, partial: str, context: dict) -> HttpResponse:
    """A refused form again, as it was typed, with the refusal's status (400, 409...): for htmx the
    form's partial of `page` and the reason as a notice; for a plain post the whole page, so the
    browser keeps what was typed too. The caller has put the refusal on the form (`refuse`)."""
    if not request.htmx:
        return render(request, page, context, status=exc.status_code)
    response = render(request, f"{page}#{partial}", context, status=exc.status_code)
    return notify(response, "error", refusal_text(exc))


class TabletBindForm(forms.Form):
    """Bind this tablet to one of the workstations the supervisor may see."""

    workstation = forms.IntegerField(
        min_value=1,
        max_value=BIGINT_MAX,
        error_messages={
            "required": _("Choose a workstation."),
            "invalid": _("Choose a workstation."),
            "min_value": _("Choose a workstation."),
            "max_value": _("Choose a workstation."),
        },
    )
    name = forms.CharField(required=False, strip=False)  # the service trims it and says what is missing

    def __init__(self, *args, workstations, **kwargs):
        super().__init__(*args, **kwargs)
        self.workstations = workstations

    def clean_workstation(self):
        found = self.workstations.filter(pk=self.cleaned_data["workstation"]).first()
        if found is None:
            raise ValidationError(gettext("Choose a workstation."))
        return found


class TabletRevokeForm(forms.Form):
    """Unbind a tablet; the service asks for the reason."""

    reason = forms.CharField(required=False, strip=False)
