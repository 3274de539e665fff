"""Filling checklists: validation of every kind of bad input, idempotent submission, immutable
results with corrections, out-of-spec values opening nonconformances."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mes.errors import Conflict, ValidationFailed
from quality import services
from quality.models import ChecklistResponse, ChecklistRun, Nonconformance
from quality.tests.conftest import PASSWORD, answers_for, key, make_effective, png_bytes


def _submit(template, operator, workstation, answers, **kwargs):
    return services.checklist_run_submit(
        key=kwargs.pop("key", key()),
        user=operator,
        workstation=workstation,
        template=template,
        answers=answers,
        **kwargs,
    )


def test_a_good_submission_writes_one_immutable_response_per_answer(template, operator, workstation):
    done = _submit(template, operator, workstation, answers_for(template))

    run = ChecklistRun.objects.get(pk=done.result_id)
    assert run.status == "completed" and run.completed_by == operator and run.version.status == "effective"
    assert run.responses.count() == 6  # every item but the optional photo, left blank
    assert not Nonconformance.objects.exists()
    diameter = run.responses.get(item__prompt="Shaft diameter")
    assert diameter.value_number == Decimal("10.01") and diameter.in_spec is True


def test_a_retry_with_the_same_key_returns_the_first_run(template, operator, workstation):
    k = key()
    first = _submit(template, operator, workstation, answers_for(template), key=k)
    again = _submit(template, operator, workstation, answers_for(template), key=k)

    assert again.replayed and again.result_id == first.result_id
    assert ChecklistRun.objects.count() == 1
    with pytest.raises(Conflict):
        _submit(template, operator, workstation, answers_for(template, **{"Shaft diameter": "10.02"}), key=k)


@pytest.mark.parametrize(
    ("prompt", "value", "code"),
    [
        ("Shaft diameter", "ten", "not_a_number"),
        ("Shaft diameter", "10.001", "too_precise"),
        ("Shaft diameter", "", "required"),
        ("Visual inspection", "maybe", "invalid"),
        ("Coolant", "D", "not_a_choice"),
        ("Coolant", ["A", "B"], "one_choice"),
        ("Tools checked", ["Gauge", "Hammer"], "not_a_choice"),
        ("Work area clean", "", "required"),
    ],
)
def test_bad_answers_are_refused_with_the_field_and_nothing_is_written(
    template, operator, workstation, prompt, value, code
):
    answers = answers_for(template, **{prompt: value})
    item = template.versions.get(status="effective").items.get(prompt=prompt)

    with pytest.raises(ValidationFailed) as refused:
        _submit(template, operator, workstation, answers)

    assert refused.value.field == f"item_{item.pk}"
    assert refused.value.code == code
    assert prompt in refused.value.message
    assert not ChecklistRun.objects.exists() and not ChecklistResponse.objects.exists()


def test_photos_must_be_small_images(template, operator, workstation, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    photo = template.versions.get(status="effective").items.get(prompt="Photo of first part")
    field = f"item_{photo.pk}"

    with pytest.raises(ValidationFailed) as not_image:
        _submit(
            template,
            operator,
            workstation,
            answers_for(template),
            uploads={field: SimpleUploadedFile("x.png", b"not a picture", content_type="image/png")},
        )
    assert not_image.value.field == field and not_image.value.code == "not_an_image"

    settings.QUALITY_MAX_PHOTO_BYTES = 50
    with pytest.raises(ValidationFailed) as too_large:
        _submit(
            template,
            operator,
            workstation,
            answers_for(template),
            uploads={field: SimpleUploadedFile("big.png", png_bytes((64, 64)), content_type="image/png")},
        )
    assert too_large.value.code == "too_large"
    assert not ChecklistRun.objects.exists()

    settings.QUALITY_MAX_PHOTO_BYTES = 5 * 1024 * 1024
    done = _submit(
        template,
        operator,
        workstation,
        answers_for(template),
        uploads={field: SimpleUploadedFile("ok.png", png_bytes(), content_type="image/png")},
    )
    response = ChecklistResponse.objects.get(run_id=done.result_id, item=photo)
    assert response.photo.name.startswith("quality/photos/") and response.photo.size > 0


def test_an_out_of_spec_value_opens_a_nonconformance_linked_to_everything(
    template, operator, workstation, operation
):
    from quality.models import OperationChecklist

    OperationChecklist.objects.create(
        routing_operation=operation.routing_operation, template=template, trigger="at_start"
    )
    done = _submit(
        template,
        operator,
        workstation,
        answers_for(template, **{"Shaft diameter": "10.09"}),
        operation_id=operation.pk,
        trigger="at_start",
    )

    nc = Nonconformance.objects.get()
    response = ChecklistResponse.objects.get(run_id=done.result_id, item__prompt="Shaft diameter")
    assert response.in_spec is False
    assert nc.response == response and nc.operator == operator and nc.automatic
    assert (
        nc.work_order == operation.work_order and nc.operation == operation and nc.workstation == workstation
    )
    assert nc.status == "open" and "10.09" in nc.title


def test_a_correction_is_a_new_entry_with_a_reason_and_both_stay(template, operator, workstation):
    done = _submit(template, operator, workstation, answers_for(template))
    old = ChecklistResponse.objects.get(run_id=done.result_id, item__prompt="Shaft diameter")

    with pytest.raises(ValidationFailed):
        services.checklist_response_correct(
            response_id=old.pk, value="10.02", reason="", user=operator, key=key()
        )
    fixed = services.checklist_response_correct(
        response_id=old.pk, value="10.10", reason="Misread the gauge", user=operator, key=key()
    )

    new = ChecklistResponse.objects.get(pk=fixed.result_id)
    old.refresh_from_db()
    assert old.value_number == Decimal("10.01") and new.supersedes == old
    assert new.correction_reason == "Misread the gauge" and new.in_spec is False
    assert Nonconformance.objects.get().response == new
    with pytest.raises(Conflict):
        services.checklist_response_correct(
            response_id=old.pk, value="10.0", reason="again", user=operator, key=key()
        )


def test_progress_is_kept_as_typed_and_read_back_with_its_verdict(template, operator, workstation):
    run = services.checklist_run_start(template=template, workstation=workstation, user=operator)
    diameter = run.version.items.get(prompt="Shaft diameter")

    assert services.checklist_run_save_progress(
        run_id=run.pk, item_id=diameter.pk, value="10.2", user=operator
    ) == {"ok": True, "in_spec": False, "error": ""}
    bad = services.checklist_run_save_progress(run_id=run.pk, item_id=diameter.pk, value="1o", user=operator)
    assert not bad["ok"] and "number" in bad["error"]
    run.refresh_from_db()
    assert run.draft == {str(diameter.pk): "1o"}
    assert services.checklist_run_start(template=template, workstation=workstation, user=operator) == run


def test_signature_required_templates_are_signed_performed_at_submission(
    site, quality_user, operator, workstation
):
    from mes.signatures import manifestations

    template = make_effective(
        site=site,
        author=quality_user,
        approver=quality_user,
        code="SIGNED",
        items=[{"kind": "check", "prompt": "Guard closed"}],
        signature_required=True,
    )
    answers = answers_for(template)
    with pytest.raises(ValidationFailed):
        _submit(template, operator, workstation, answers, badge_number="1001", pin="0000")
    assert not ChecklistRun.objects.exists()

    done = _submit(template, operator, workstation, answers, badge_number="1001", pin="1234")
    [shown] = manifestations(ChecklistRun.objects.get(pk=done.result_id))
    assert shown.meaning == "Performed" and shown.method == "Badge and PIN"
    assert PASSWORD
