"""Reading the fields of a desk or tablet form: a record's id, a small number, a page to go back to.

Views used to read these with `int(request.POST[...])`, with `str.isdigit()` (which takes '²' for
a digit that `int()` refuses) or by handing the raw text to a query (`pk="abc"` raises inside the
ORM): each answered 500 to a hand-edited or garbled form. These read through Django's form
fields and refuse with `ValidationFailed` naming the field and the reason, which the views
already answer as they answer any refusal of a service (400, or the desk's message).
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.http import url_has_allowed_host_and_scheme

from mes.errors import ValidationFailed
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
