"""Checklist templates: authoring, the version lifecycle, e-signed approval, second person."""

from decimal import Decimal

import pytest

from mes import roles
from mes.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from mes.models import SignInAttempt
from mes.signatures import manifestations
from quality import services
from quality.models import ChecklistTemplateVersion
from quality.tests.conftest import ITEMS, PASSWORD, make_effective, second_person


def _draft(site, user, code="CL9"):
    return services.template_create(site=site, code=code, title="Start-up check", user=user)


@pytest.mark.requirement("A11-14", "P11-11.10g")
def test_approval_is_e_signed_and_only_effective_versions_reach_the_floor(site, quality_user):
    template = make_effective(site=site, author=quality_user, approver=quality_user)
    version = template.versions.get()

    assert version.status == "effective" and version.approved_by == quality_user
    [shown] = manifestations(version)
    assert shown.meaning == "Approved" and shown.printed_name == "Quinn Quist" and shown.intact
    assert [i.position for i in version.items.all()] == list(range(1, len(ITEMS) + 1))
    assert version.history.count() >= 4  # created, in review, approved, effective: each with who and why
    assert version.history.first().history_user == quality_user


def test_editing_an_approved_version_makes_a_new_draft_version(site, quality_user):
    template = make_effective(site=site, author=quality_user, approver=quality_user)
    effective = template.versions.get()
    item = effective.items.get(prompt="Shaft diameter")

    changed = services.item_update(item_id=item.pk, user=quality_user, data={"usl": "10.04"})

    assert changed.version.version == 2 and changed.version.status == "draft"
    assert changed.usl == Decimal("10.04") and changed.pk != item.pk
    item.refresh_from_db()
    assert str(item.usl.normalize()) == "10.05", "the approved version is untouched"
    assert effective.items.count() == changed.version.items.count()
    [signature] = manifestations(effective)
    assert signature.intact


def test_a_version_in_review_cannot_be_edited(site, quality_user):
    version = _draft(site, quality_user)
    item = services.item_add(
        version_id=version.pk, user=quality_user, data={"kind": "check", "prompt": "Clean"}
    )
    services.version_submit(version_id=version.pk, user=quality_user)

    with pytest.raises(Conflict):
        services.item_update(item_id=item.pk, user=quality_user, data={"prompt": "Tidy"})


@pytest.mark.requirement("P11-11.10g")
def test_second_person_approval_refuses_the_author(site, quality_user, second_quality_user):
    second_person(site)
    version = _draft(site, quality_user)
    services.item_add(version_id=version.pk, user=quality_user, data={"kind": "check", "prompt": "Clean"})
    services.version_submit(version_id=version.pk, user=quality_user)

    with pytest.raises(ValidationFailed) as refused:
        services.version_approve(version_id=version.pk, user=quality_user, password=PASSWORD)
    assert refused.value.code == "second_person_required"
    version.refresh_from_db()
    assert version.status == "in_review" and not manifestations(version)

    services.version_approve(version_id=version.pk, user=second_quality_user, password=PASSWORD)
    version.refresh_from_db()
    assert version.status == "approved" and version.approved_by == second_quality_user


def test_approval_with_a_wrong_password_is_refused_and_logged(site, quality_user):
    version = _draft(site, quality_user)
    services.item_add(version_id=version.pk, user=quality_user, data={"kind": "check", "prompt": "Clean"})
    services.version_submit(version_id=version.pk, user=quality_user)

    with pytest.raises(ValidationFailed) as refused:
        services.version_approve(version_id=version.pk, user=quality_user, password="nope")
    assert refused.value.field == "password"
    version.refresh_from_db()
    assert version.status == "in_review"
    assert SignInAttempt.objects.filter(kind="signature", identifier="quinn", succeeded=False).exists()


def test_making_a_version_effective_retires_the_previous_one(site, quality_user):
    template = make_effective(site=site, author=quality_user, approver=quality_user)
    first = template.versions.get()
    draft = services.version_new_draft(template_id=template.pk, user=quality_user, change_note="Tighter")
    services.version_submit(version_id=draft.pk, user=quality_user)
    services.version_approve(version_id=draft.pk, user=quality_user, password=PASSWORD)
    services.version_make_effective(version_id=draft.pk, user=quality_user)

    first.refresh_from_db()
    assert first.status == "retired"
    assert list(ChecklistTemplateVersion.objects.filter(template=template, status="effective")) == [draft]


def test_illegal_moves_and_empty_drafts_are_refused(site, quality_user):
    version = _draft(site, quality_user)
    with pytest.raises(ValidationFailed):
        services.version_submit(version_id=version.pk, user=quality_user)
    with pytest.raises(IllegalTransition):
        services.version_make_effective(version_id=version.pk, user=quality_user)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "choice", "prompt": "Pick", "choices": ["only one"]}, "choices"),
        ({"kind": "number", "prompt": "Size", "lsl": "abc"}, "lsl"),
        ({"kind": "number", "prompt": "Size", "lsl": "2", "usl": "1"}, None),
        ({"kind": "number", "prompt": "Size", "usl": "1.234", "decimals": 2}, "usl"),
        ({"kind": "spin", "prompt": "Size"}, "kind"),
    ],
)
def test_malformed_items_are_refused_with_the_field(site, quality_user, data, field):
    version = _draft(site, quality_user)
    with pytest.raises(ValidationFailed) as refused:
        services.item_add(version_id=version.pk, user=quality_user, data=data)
    if field:
        assert refused.value.field == field
    assert version.items.count() == 0


def test_reordering_items_swaps_neighbours(site, quality_user):
    version = _draft(site, quality_user)
    a = services.item_add(version_id=version.pk, user=quality_user, data={"kind": "check", "prompt": "A"})
    services.item_add(version_id=version.pk, user=quality_user, data={"kind": "check", "prompt": "B"})
    services.item_move(item_id=a.pk, direction="down", user=quality_user)
    assert [i.prompt for i in version.items.order_by("position")] == ["B", "A"]


def test_only_quality_authors_templates(site, make_user):
    operator = make_user(roles.OPERATOR, username="op")
    with pytest.raises(Forbidden):
        services.template_create(site=site, code="X", title="X", user=operator)
