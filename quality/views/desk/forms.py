"""The desk's forms, one per action: each holds what was typed so that a refusal (the form's own
check or the service's) comes back at its field with the input kept.

The fields are lenient on purpose: the services hold the rules and word the refusals, so a form
checks only what a browser can garble (a NUL character) and carries the service's refusal to the
field it names.
"""

from __future__ import annotations

from django import forms

from mes.content import content_languages
from mes.errors import MesError
from mes.forms import checked, refuse


def _text(**kwargs) -> forms.CharField:
    return forms.CharField(required=False, strip=False, **kwargs)


class DeskForm(forms.Form):
    """A desk form without ids in its markup (a page shows several forms with the same fields)."""

    def __init__(self, data=None, files=None, **kwargs):
        super().__init__(data, files, auto_id=False, **kwargs)

    def checked(self) -> dict:
        """What was typed, or a refusal naming the first field a browser garbled."""
        return checked(self)

    def refuse(self, exc: MesError) -> None:
        """Show a refusal at the field it names (or above the form), once."""
        refuse(self, exc)


class SigningForm(DeskForm):
    """An action signed electronically: the password, or badge and PIN (never shown again)."""

    password = _text()
    badge_number = _text()
    pin = _text()

    def credentials(self) -> dict:
        data = self.cleaned_data
        return {name: data.get(name) or None for name in ("password", "badge_number", "pin")}


class KeyedForm(DeskForm):
    """An action done once per idempotency key (the page puts a fresh one in each submission)."""

    idempotency_key = _text()


# --- nonconformances and holds -------------------------------------------------------------------


class NonconformanceOpenForm(KeyedForm):
    title = _text()
    description = _text()
    work_order = _text()
    site = _text()
    lot_code = _text()


class NoteForm(DeskForm):
    """Investigate or close a nonconformance: a note saying why."""

    note = _text()


class DispositionForm(SigningForm):
    disposition = _text()
    note = _text()


class HoldPlaceForm(KeyedForm):
    work_order = _text()
    reason = _text()


class HoldReleaseForm(KeyedForm, SigningForm):
    reason = _text()


# --- checklist templates and versions ------------------------------------------------------------


class TemplateCreateForm(DeskForm):
    site = _text()
    code = _text()
    title = _text()
    description = _text()
    signature_required = forms.BooleanField(required=False)


class ReasonForm(DeskForm):
    """A verb that asks why: back to draft, retire, a new draft version."""

    reason = _text()


class ApproveForm(SigningForm):
    comment = _text()


class AttachForm(DeskForm):
    routing_operation = _text()
    trigger = _text()
    every_n_units = _text()


class AssignForm(DeskForm):
    workstation = _text()
    line = _text()
    schedule = _text()
    weekday = _text()


# --- SOP documents -------------------------------------------------------------------------------


class SopCreateForm(DeskForm):
    site = _text()
    code = _text()
    title = _text()
    body = _text()


class SopUpdateForm(DeskForm):
    """A draft's text, its translations (`body_de`...) and why it changed; the PDF comes as a file."""

    body = _text()
    reason = _text()

    def __init__(self, data=None, *, version=None):
        super().__init__(data)
        stored = (version.translations if version is not None else None) or {}
        self.initial["body"] = version.body if version is not None else ""
        for code, language in content_languages():
            self.fields[f"body_{code}"] = _text(label=language)
            self.initial[f"body_{code}"] = stored.get(code, {}).get("body", "")

    def translations(self) -> dict | None:
        """The translations typed, or None (kept as they are) when the post did not show them."""
        if not any(f"body_{code}" in self.data for code, _language in content_languages()):
            return None
        data = self.checked()
        return {code: {"body": data[f"body_{code}"]} for code, _language in content_languages()}


class SopImageForm(DeskForm):
    caption = _text()


class SopAttachForm(DeskForm):
    routing_operation = _text()


# --- titles in other languages -------------------------------------------------------------------


class TitleTranslationsForm(DeskForm):
    """A checklist's or an SOP's title in each of the site's other languages (`title_de`...)."""

    def __init__(self, data=None, *, document=None):
        super().__init__(data)
        stored = (document.translations if document is not None else None) or {}
        for code, language in content_languages():
            self.fields[f"title_{code}"] = _text(label=language)
            self.initial[f"title_{code}"] = stored.get(code, {}).get("title", "")

    def translations(self) -> dict:
        data = self.checked()
        return {code: {"title": data[f"title_{code}"]} for code, _language in content_languages()}
