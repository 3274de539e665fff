"""Filling checklists: start a run, save progress as the operator goes, submit, correct.

Submitted answers are immutable `ChecklistResponse` rows; a correction is a new row with a reason
that supersedes the old one, and both stay visible. An out-of-spec number opens a
nonconformance in the same transaction, and so does a number that breaks a rule on its SPC chart
(`quality.services.spc`).
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from mes.content import in_language
from mes.errors import Conflict, Forbidden, ValidationFailed
from mes.models import User, Workstation
from mes.signatures import Meaning, signature_reauthenticate, signature_sign
from quality.models import (
    ChecklistItem,
    ChecklistResponse,
    ChecklistRun,
    ChecklistTemplate,
    FormAssignment,
    OperationChecklist,
)
from quality.services.nonconformances import open_for_response
from quality.services.records import lock, save
from quality.services.requests import Done, run_once
from quality.services.spc import spc_judge_responses
from quality.services.templates import effective_version
from quality.services.uploads import image_format
from quality.states import ItemKind, RunStatus, Trigger
from workorders.models import WorkOrderOperation

FILL = "quality.fill_checklist"
PHOTO_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
MAX_NUMBER = Decimal("1e12")
TRUE = {True, "true", "on", "1", "yes", "pass", "done"}
FALSE = {False, "false", "off", "0", "no", "fail"}


def max_photo_bytes() -> int:
    return getattr(settings, "QUALITY_MAX_PHOTO_BYTES", 5 * 1024 * 1024)


def item_field(item: ChecklistItem) -> str:
    """The name of an item's answer in forms, API bodies and error messages."""
    return f"item_{item.pk}"


def _refuse(item: ChecklistItem, message: str, code: str):
    raise ValidationFailed(f"{in_language(item, 'prompt')}: {message}", field=item_field(item), code=code)


def is_blank(value) -> bool:
    return value is None or value == "" or value == [] or (isinstance(value, str) and not value.strip())


def clean_answer(item: ChecklistItem, value, upload: UploadedFile | None = None) -> dict | None:
    """The fields of a response to `item` from what was entered; None for an optional item left
    blank. Refuses with the item's field and the reason."""
    kind = item.kind
    if kind == ItemKind.PHOTO:
        if upload is None and isinstance(value, str) and value.startswith("quality/photos/"):
            return {"photo": value}  # saved with the draft already
        if upload is None:
            if item.required:
                _refuse(item, _("Take or upload a photo."), "required")
            return None
        return {"photo_upload": clean_photo(item, upload)}
    if isinstance(value, list | tuple | dict) and kind != ItemKind.CHOICE and not is_blank(value):
        _refuse(item, _("Give one value."), "not_one_value")
    if is_blank(value) or (kind == ItemKind.CHECK and value in FALSE):
        if item.required:
            _refuse(item, _("This item is required."), "required")
        return None
    if kind == ItemKind.CHECK:
        if value not in TRUE:
            _refuse(item, _("Tick it when done."), "invalid")
        return {"value_bool": True}
    if kind == ItemKind.PASS_FAIL:
        lowered = value.strip().lower() if isinstance(value, str) else value
        if lowered in TRUE:
            return {"value_bool": True}
        if lowered in FALSE:
            return {"value_bool": False}
        _refuse(item, _("Answer pass or fail."), "invalid")
    if kind == ItemKind.NUMBER:
        return {"value_number": clean_number(item, value)}
    if kind == ItemKind.TEXT:
        text = str(value).strip()
        if len(text) > 2000:
            _refuse(item, _("At most 2000 characters."), "too_long")
        return {"value_text": text}
    if kind == ItemKind.CHOICE:
        picked = value if isinstance(value, list | tuple) else [value]
        picked = [str(p).strip() for p in picked if str(p).strip()]
        if not item.multiple and len(picked) > 1:
            _refuse(item, _("Choose one option."), "one_choice")
        if len(set(picked)) != len(picked):
            _refuse(item, _("An option is chosen twice."), "duplicate_choice")
        for p in picked:
            if p not in item.choices:
                _refuse(item, _("'%(option)s' is not one of the options.") % {"option": p}, "not_a_choice")
        if not picked:
            if item.required:
                _refuse(item, _("This item is required."), "required")
            return None
        return {"value_choices": picked}
    _refuse(item, _("Unknown kind of item."), "unknown_kind")
    return None


def clean_number(item: ChecklistItem, value) -> Decimal:
    text = str(value).strip().replace(",", ".")
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        _refuse(item, _("Enter a number."), "not_a_number")
    if not number.is_finite() or abs(number) >= MAX_NUMBER:
        _refuse(item, _("Enter a number."), "not_a_number")
    if number.as_tuple().exponent < -item.decimals:
        places = (
            _("no decimals")
            if item.decimals == 0
            else _("at most %(decimals)s decimals") % {"decimals": item.decimals}
        )
        _refuse(item, _("This value takes %(places)s.") % {"places": places}, "too_precise")
    return number


def clean_photo(item: ChecklistItem, upload: UploadedFile) -> UploadedFile:
    if upload.size > max_photo_bytes():
        _refuse(
            item,
            _("The photo is larger than %(size)s MB.") % {"size": max_photo_bytes() // (1024 * 1024)},
            "too_large",
        )
    if image_format(upload) not in PHOTO_TYPES.values():
        _refuse(item, _("The file is not a photo (JPEG, PNG or WebP)."), "not_an_image")
    return upload


# --- runs --------------------------------------------------------------------------------------


def _check_operation_at(operation_id: int | None, workstation: Workstation) -> WorkOrderOperation | None:
    if operation_id is None:
        return None
    operation = WorkOrderOperation.objects.select_related("work_order").filter(pk=operation_id).first()
    if operation is None or operation.workstation_id != workstation.pk:
        raise ValidationFailed(
            _("No such operation at this workstation."), field="operation", code="unknown_operation"
        )
    return operation


def _requirement(operation: WorkOrderOperation, template: ChecklistTemplate, trigger: str) -> None:
    if not OperationChecklist.objects.filter(
        routing_operation_id=operation.routing_operation_id, template=template, trigger=trigger
    ).exists():
        raise ValidationFailed(
            _("Checklist %(checklist)s is not attached to this operation for that moment.")
            % {"checklist": template.code},
            field="trigger",
            code="not_attached",
        )


def _assigned_here(assignment: FormAssignment, template: ChecklistTemplate, workstation: Workstation) -> bool:
    """Whether the form is in force at this workstation: assigned to it, or to its line."""
    at_workstation = assignment.workstation_id == workstation.pk
    on_line = assignment.workstation_id is None and assignment.line_id == workstation.line_id
    return assignment.active and assignment.template_id == template.pk and (at_workstation or on_line)


@transaction.atomic
def checklist_run_start(
    *,
    template: ChecklistTemplate,
    workstation: Workstation,
    user: User,
    operation_id: int | None = None,
    trigger: str = "",
    assignment: FormAssignment | None = None,
) -> ChecklistRun:
    """Open a run of the template's effective version, or resume the one already open for the same
    operation and moment (or form) at this workstation. Refuses a template of another site and a
    form assigned elsewhere: the tablet sends their ids, and an id is easily edited."""
    if not user.has_perm(FILL):
        raise Forbidden(_("You may not fill checklists."), code="not_allowed")
    if template.site_id != workstation.line.site_id:
        raise ValidationFailed(
            _("Checklist %(checklist)s belongs to another site.") % {"checklist": template.code},
            field="template",
            code="template_other_site",
        )
    if assignment is not None and not _assigned_here(assignment, template, workstation):
        raise ValidationFailed(
            _("Form %(form)s is not assigned to this workstation.") % {"form": template.code},
            field="assignment",
            code="not_assigned",
        )
    operation = _check_operation_at(operation_id, workstation)
    if operation is not None:
        if trigger not in Trigger.values:
            raise ValidationFailed(
                _("Say when the checklist is filled."), field="trigger", code="unknown_trigger"
            )
        _requirement(operation, template, trigger)
    open_run = ChecklistRun.objects.filter(
        template=template,
        workstation=workstation,
        operation=operation,
        trigger=trigger if operation else "",
        assignment=assignment,
        status=RunStatus.IN_PROGRESS,
    ).first()
    if open_run is not None:
        return open_run
    version = effective_version(template)
    run = ChecklistRun(
        version=version,
        template=template,
        workstation=workstation,
        operation=operation,
        work_order=operation.work_order if operation else None,
        trigger=trigger if operation else "",
        assignment=assignment,
        started_by=user,
        started_at=timezone.now(),
    )
    save(run, user=user, reason=gettext_noop("Checklist started"), clean=False)
    return run


def checklist_run_save_progress(*, run_id: int, item_id: int, value, user: User, upload=None) -> dict:
    """Keep what the operator entered for one item so far (not yet a record). Returns how the
    value reads: `{"ok": bool, "in_spec": bool|None, "error": str}`; a bad value is still kept,
    as typed, so nothing the operator typed is lost."""
    with transaction.atomic():
        run = lock(ChecklistRun, run_id)
        if run.status != RunStatus.IN_PROGRESS:
            raise Conflict(_("This checklist is submitted already."), code="run_submitted")
        item = run.version.items.filter(pk=item_id).first()
        if item is None:
            raise ValidationFailed(_("No such item on this checklist."), field="item", code="unknown_item")
        verdict = {"ok": True, "in_spec": None, "error": ""}
        try:
            cleaned = clean_answer(item, value, upload)
        except ValidationFailed as exc:
            cleaned, verdict = None, {"ok": False, "in_spec": None, "error": exc.message}
        stored = value
        if cleaned and "photo_upload" in cleaned:
            upload = cleaned["photo_upload"]
            stored = default_storage.save(f"quality/photos/drafts/{run.pk}/{upload.name}", upload)
            stored = stored if stored.startswith("quality/photos/") else f"quality/photos/{stored}"
        if cleaned and "value_number" in cleaned and item.has_spec:
            verdict["in_spec"] = item.in_spec(cleaned["value_number"])
        draft = dict(run.draft)
        draft[str(item.pk)] = stored
        ChecklistRun.objects.filter(pk=run.pk).update(draft=draft)  # progress only: not a record
    return verdict


def _responses(run: ChecklistRun, answers: dict, uploads: dict, user: User, now) -> list[ChecklistResponse]:
    """Validate every answer first, then write: a refusal leaves nothing half-written."""
    items = list(run.version.items.all())
    known = {item_field(i) for i in items} | {str(i.pk) for i in items}
    for name in list(answers) + list(uploads):
        if str(name) not in known:
            raise ValidationFailed(
                _("'%(item)s' is not an item of this checklist.") % {"item": name},
                field=str(name),
                code="unknown_item",
            )
    cleaned = []
    for item in items:
        value = answers.get(item_field(item), answers.get(str(item.pk)))
        upload = uploads.get(item_field(item)) or uploads.get(str(item.pk))
        fields = clean_answer(item, value, upload)
        if fields is not None:
            cleaned.append((item, fields))
    responses = []
    for item, fields in cleaned:
        upload = fields.pop("photo_upload", None)
        response = ChecklistResponse(run=run, item=item, recorded_by=user, recorded_at=now, **fields)
        if upload is not None:
            response.photo.save(upload.name, upload, save=False)
        if "value_number" in fields and item.has_spec:
            response.in_spec = item.in_spec(fields["value_number"])
        responses.append(response)
    return responses


def checklist_run_submit(
    *,
    key: uuid.UUID,
    user: User,
    workstation: Workstation,
    answers: dict,
    uploads: dict | None = None,
    run_id: int | None = None,
    template: ChecklistTemplate | None = None,
    operation_id: int | None = None,
    trigger: str = "",
    assignment: FormAssignment | None = None,
    password: str | None = None,
    badge_number: str | None = None,
    pin: str | None = None,
    request=None,
) -> Done:
    """Submit a run's answers, once per key: of an open run (`run_id`), or of a new run of the
    template's effective version in one go (tablets offline, the API, machines).

    Every answer is checked before anything is written; the responses are immutable; an
    out-of-spec number opens a nonconformance, and so does a signal on its SPC chart; a template
    that requires it is signed (performed).
    """
    uploads = uploads or {}
    if not user.has_perm(FILL):
        raise Forbidden(_("You may not fill checklists."), code="not_allowed")
    if run_id is None and template is None:
        raise ValidationFailed(_("Say which checklist."), field="template", code="required")
    reauth = None
    signing_template = template or (
        ChecklistRun.objects.select_related("template").get(pk=run_id).template if run_id else None
    )
    if signing_template is not None and signing_template.signature_required:
        reauth = signature_reauthenticate(
            signer=user, password=password, badge_number=badge_number, pin=pin, request=request
        )

    def act() -> ChecklistRun:
        if run_id is not None:
            run = lock(ChecklistRun, run_id, "version", "template")
            if run.workstation_id != workstation.pk:
                raise ValidationFailed(_("This checklist belongs to another workstation."), field="run")
            if run.status != RunStatus.IN_PROGRESS:
                raise Conflict(_("This checklist is submitted already."), code="run_submitted")
        else:
            run = checklist_run_start(
                template=template,
                workstation=workstation,
                user=user,
                operation_id=operation_id,
                trigger=trigger,
                assignment=assignment,
            )
        now = timezone.now()
        responses = _responses(run, answers, uploads, user, now)
        ChecklistResponse.objects.bulk_create(
            responses
        )  # append-only rows; the run's history records the submission
        run.status = RunStatus.COMPLETED
        run.completed_by = user
        run.completed_at = now
        run.draft = {}
        if run.operation_id:
            run.units_at_submission = WorkOrderOperation.objects.values_list("quantity_good", flat=True).get(
                pk=run.operation_id
            )
        save(run, user=user, reason=gettext_noop("Checklist submitted"), clean=False)
        for response in responses:
            if response.in_spec is False:
                open_for_response(response=response, run=run, user=user)
        spc_judge_responses(run=run, workstation=workstation, responses=responses, user=user)
        if reauth is not None:
            signature_sign(record=run, signer=user, meaning=Meaning.PERFORMED, reauth=reauth)
        return run

    request_body = {
        "run": run_id,
        "template": template.pk if template else None,
        "operation": operation_id,
        "trigger": trigger,
        "workstation": workstation.pk,
        "answers": {str(k): v for k, v in answers.items()},
        "uploads": sorted(str(k) for k in uploads),
    }
    return run_once(key, "checklist_submit", request_body, act, user=user)


def checklist_response_correct(
    *, response_id: int, value, reason: str, user: User, key: uuid.UUID, upload=None
) -> Done:
    """Correct a submitted answer: a new response that supersedes it, with the reason. The old one
    stays as it was. An out-of-spec correction opens a nonconformance like the first answer."""
    if not user.has_perm(FILL):
        raise Forbidden(_("You may not correct checklists."), code="not_allowed")
    if not (reason or "").strip():
        raise ValidationFailed(_("Say why the answer is corrected."), field="reason", code="required")

    def act() -> ChecklistResponse:
        old = lock(ChecklistResponse, response_id, "item", "run")
        if ChecklistResponse.objects.filter(supersedes=old).exists():
            raise Conflict(_("This answer was corrected already; correct the latest one."), code="superseded")
        fields = clean_answer(old.item, value, upload)
        if fields is None:
            raise ValidationFailed(
                _("Enter the corrected value."), field=item_field(old.item), code="required"
            )
        photo = fields.pop("photo_upload", None)
        new = ChecklistResponse(
            run=old.run,
            item=old.item,
            recorded_by=user,
            recorded_at=timezone.now(),
            supersedes=old,
            correction_reason=reason.strip()[:500],
            **fields,
        )
        if photo is not None:
            new.photo.save(photo.name, photo, save=False)
        if "value_number" in fields and old.item.has_spec:
            new.in_spec = old.item.in_spec(fields["value_number"])
        new.save()
        if new.in_spec is False:
            open_for_response(response=new, run=old.run, user=user)
        spc_judge_responses(run=old.run, workstation=old.run.workstation, responses=[new], user=user)
        return new

    return run_once(
        key,
        "response_correct",
        {"response": response_id, "value": str(value), "reason": reason},
        act,
        user=user,
    )
