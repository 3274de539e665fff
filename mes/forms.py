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

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

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
            raise ValidationFailed(message or f"Enter the {_label(field)}.", field=field, code="required")
        return None
    try:
        return forms.IntegerField(min_value=min_value, max_value=max_value).clean(raw)
    except ValidationError as exc:
        reason = exc.messages[0]
        text = f"{message} {reason}" if message else f"The {_label(field)}: {reason}"
        raise ValidationFailed(text, field=field, code="invalid") from None


def posted_id(request, field: str, *, required: bool = True, message: str | None = None) -> int | None:
    """The id of the record chosen in `field` (a whole number from 1 up, as an id column holds);
    None when blank and not required. The message says what to choose (default "Choose a
    <field>."); a value that is no id adds why."""
    message = message or f"Choose a {_label(field)}."
    return posted_int(request, field, min_value=1, max_value=BIGINT_MAX, required=required, message=message)


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


class KioskBindForm(forms.Form):
    """Bind this tablet to one of the workstations the supervisor may see."""

    workstation = forms.IntegerField(
        min_value=1,
        max_value=BIGINT_MAX,
        error_messages={
            "required": "Choose a workstation.",
            "invalid": "Choose a workstation.",
            "min_value": "Choose a workstation.",
            "max_value": "Choose a workstation.",
        },
    )
    name = forms.CharField(required=False, strip=False)  # the service trims it and says what is missing

    def __init__(self, *args, workstations, **kwargs):
        super().__init__(*args, **kwargs)
        self.workstations = workstations

    def clean_workstation(self):
        found = self.workstations.filter(pk=self.cleaned_data["workstation"]).first()
        if found is None:
            raise ValidationError("Choose a workstation.")
        return found


class KioskRevokeForm(forms.Form):
    """Unbind a tablet; the service asks for the reason."""

    reason = forms.CharField(required=False, strip=False)
