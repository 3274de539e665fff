"""Checklist templates: authoring the items of a draft version, and the version lifecycle."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from mes.content import clean_translations
from mes.errors import Conflict, ValidationFailed, full_clean
from mes.models import Site, User
from quality.content import ITEM_TEXTS
from quality.models import ChecklistItem, ChecklistTemplate, ChecklistTemplateVersion
from quality.services import versions
from quality.services.records import lock, require, save
from quality.states import FROZEN, ItemKind, VersionStatus

V = VersionStatus
AUTHOR = "quality.author_checklist"
ITEM_FIELDS = (
    "kind",
    "prompt",
    "help_text",
    "required",
    "unit",
    "lsl",
    "usl",
    "target",
    "decimals",
    "choices",
    "multiple",
    "translations",
)


@transaction.atomic
def template_create(
    *, site: Site, code: str, title: str, user: User, description: str = "", signature_required: bool = False
) -> ChecklistTemplateVersion:
    """Create a checklist template and its first, empty draft version."""
    require(user, AUTHOR, _("Only quality may author checklists."))
    if ChecklistTemplate.objects.filter(site=site, code=(code or "").strip()).exists():
        raise ValidationFailed(
            _("A checklist %(code)s exists already.") % {"code": code}, field="code", code="duplicate"
        )
    template = ChecklistTemplate(
        site=site,
        code=(code or "").strip(),
        title=(title or "").strip(),
        description=description,
        signature_required=signature_required,
    )
    save(template, user=user, reason=gettext_noop("Checklist created"))
    version = ChecklistTemplateVersion(template=template, version=1, created_by=user)
    save(version, user=user, reason=gettext_noop("First version"))
    return version


def _copy_items(source: ChecklistTemplateVersion, target: ChecklistTemplateVersion, user: User) -> None:
    for item in source.items.order_by("position", "pk"):
        copy = ChecklistItem(version=target, position=item.position, help_image=item.help_image.name or "")
        for name in ITEM_FIELDS:
            setattr(copy, name, getattr(item, name))
        save(copy, user=user, reason=f"Copied from version {source.version}", clean=False)


@transaction.atomic
def version_new_draft(*, template_id: int, user: User, change_note: str = "") -> ChecklistTemplateVersion:
    """A new draft version copied from the latest version; or the open draft if there is one."""
    require(user, AUTHOR, _("Only quality may author checklists."))
    template = lock(ChecklistTemplate, template_id)
    open_draft = template.versions.filter(status__in=[V.DRAFT, V.IN_REVIEW]).order_by("-version").first()
    if open_draft is not None:
        return open_draft
    latest = template.versions.order_by("-version").first()
    version = ChecklistTemplateVersion(
        template=template,
        version=(latest.version if latest else 0) + 1,
        created_by=user,
        change_note=(change_note or "").strip()[:500],
    )
    save(version, user=user, reason=change_note or "New draft version")
    if latest is not None:
        _copy_items(latest, version, user)
    return version


def _editable_version(version_id: int, user: User) -> ChecklistTemplateVersion:
    """The draft to edit: this version, or for a frozen one a new draft copied from it."""
    version = lock(ChecklistTemplateVersion, version_id, "template")
    if version.status in FROZEN:
        return version_new_draft(
            template_id=version.template_id, user=user, change_note=f"Changes to v{version.version}"
        )
    versions.check_editable(version)
    return version


def _decimal(value, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise ValidationFailed(_("Enter a number."), field=field, code="not_a_number") from None
    if not number.is_finite():
        raise ValidationFailed(_("Enter a number."), field=field, code="not_a_number")
    return number


def _clean_item_fields(data: dict) -> dict:
    cleaned: dict = {}
    for name in ITEM_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if name in ("lsl", "usl", "target"):
            value = _decimal(value, name)
        elif name in ("required", "multiple"):
            value = value in (True, "true", "on", "1", 1, "yes")
        elif name == "decimals":
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ValidationFailed(_("Decimals is a whole number 0 to 6."), field="decimals") from None
        elif name == "choices":
            if isinstance(value, str):
                value = [c.strip() for c in value.splitlines()]
            value = [str(c).strip() for c in value or [] if str(c).strip()]
        elif name == "translations":
            value = clean_translations(value, ITEM_TEXTS)
        elif isinstance(value, str):
            value = value.strip()
        cleaned[name] = value
    return cleaned


def _validate_translated_options(item: ChecklistItem) -> None:
    """A translation of the options names each option, in the same order: the reader picks from
    the translated labels and the option in the site's language is what is stored."""
    for code, texts in item.translations.items():
        options = texts.get("choices")
        if options is None:
            continue
        if item.kind != ItemKind.CHOICE:
            raise ValidationFailed(
                _("Only a choice item has options."), field=f"choices_{code}", code="not_choice"
            )
        if len(options) != len(item.choices):
            raise ValidationFailed(
                _("Give %(count)s options, one for each option of the item, in its order.")
                % {"count": len(item.choices)},
                field=f"choices_{code}",
                code="options_mismatch",
            )


def _validate_item(item: ChecklistItem) -> None:
    if item.kind not in ItemKind.values:
        raise ValidationFailed(_("Choose the kind of item."), field="kind", code="unknown_kind")
    if item.kind == ItemKind.CHOICE:
        if len(item.choices) < 2:
            raise ValidationFailed(
                _("A choice item needs at least two options."), field="choices", code="too_few"
            )
        if len(set(item.choices)) != len(item.choices):
            raise ValidationFailed(_("The options must differ."), field="choices", code="duplicate")
    _validate_translated_options(item)
    if item.kind == ItemKind.NUMBER:
        for name in ("lsl", "usl", "target"):
            value = getattr(item, name)
            if value is not None and value.normalize().as_tuple().exponent < -item.decimals:
                raise ValidationFailed(
                    _("The %(limit)s has more decimals than the item's %(decimals)s.")
                    % {"limit": name.upper(), "decimals": item.decimals},
                    field=name,
                )
        if item.target is not None and not item.in_spec(item.target):
            raise ValidationFailed(_("The target lies outside the spec limits."), field="target")
    else:
        item.lsl = item.usl = item.target = None
    full_clean(item, exclude=["version"])


@transaction.atomic
def item_add(*, version_id: int, user: User, data: dict, help_image=None) -> ChecklistItem:
    """Add an item at the end of a draft (of a new draft, for a frozen version)."""
    require(user, AUTHOR, _("Only quality may author checklists."))
    version = _editable_version(version_id, user)
    last = version.items.aggregate(m=Max("position"))["m"] or 0
    item = ChecklistItem(version=version, position=last + 1, **_clean_item_fields(data))
    if help_image is not None:
        item.help_image = help_image
    _validate_item(item)
    save(item, user=user, reason=gettext_noop("Item added"), clean=False)
    return item


@transaction.atomic
def item_update(*, item_id: int, user: User, data: dict, help_image=None) -> ChecklistItem:
    """Change an item. On an approved, effective or retired version the change goes to a new
    draft version (copied from it), and the item returned is the draft's copy."""
    require(user, AUTHOR, _("Only quality may author checklists."))
    item = lock(ChecklistItem, item_id, "version")
    version = _editable_version(item.version_id, user)
    if version.pk != item.version_id:
        copy = version.items.filter(position=item.position).first()
        if copy is None:
            raise Conflict(_("The item is not in the new draft version."), field="item", code="item_gone")
        item = copy
    for name, value in _clean_item_fields(data).items():
        setattr(item, name, value)
    if help_image is not None:
        item.help_image = help_image
    _validate_item(item)
    save(item, user=user, reason=gettext_noop("Item changed"), clean=False)
    return item


@transaction.atomic
def item_remove(*, item_id: int, user: User) -> ChecklistTemplateVersion:
    require(user, AUTHOR, _("Only quality may author checklists."))
    item = lock(ChecklistItem, item_id, "version")
    versions.check_editable(item.version)
    version = item.version
    item._history_user = user
    item._change_reason = gettext_noop("Item removed")
    item.delete()
    return version


@transaction.atomic
def item_move(*, item_id: int, direction: str, user: User) -> ChecklistItem:
    """Swap an item with its neighbour above ("up") or below ("down")."""
    require(user, AUTHOR, _("Only quality may author checklists."))
    if direction not in ("up", "down"):
        raise ValidationFailed(_("Move up or down."), field="direction")
    item = lock(ChecklistItem, item_id, "version")
    versions.check_editable(item.version)
    siblings = list(item.version.items.select_for_update().order_by("position", "pk"))
    index = next(i for i, s in enumerate(siblings) if s.pk == item.pk)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(siblings):
        siblings[index], siblings[other] = siblings[other], siblings[index]
    for position, sibling in enumerate(siblings, start=1):
        if sibling.position != position:
            sibling.position = position
            save(sibling, user=user, reason=gettext_noop("Items reordered"), fields=["position"], clean=False)
    return item


@transaction.atomic
def version_submit(*, version_id: int, user: User) -> ChecklistTemplateVersion:
    """Send a draft to review: it has at least one item, and every item is well formed."""
    require(user, AUTHOR, _("Only quality may author checklists."))
    version = lock(ChecklistTemplateVersion, version_id)
    items = list(version.items.all())
    if not items:
        raise ValidationFailed(_("Add at least one item before review."), field="items", code="empty")
    for item in items:
        _validate_item(item)
    versions.move(version, target=V.IN_REVIEW, user=user, reason=gettext_noop("Sent to review"))
    return version


@transaction.atomic
def version_return_to_draft(*, version_id: int, user: User, reason: str) -> ChecklistTemplateVersion:
    require(user, AUTHOR, _("Only quality may author checklists."))
    if not (reason or "").strip():
        raise ValidationFailed(_("Say why it goes back to draft."), field="reason", code="required")
    version = lock(ChecklistTemplateVersion, version_id)
    versions.move(version, target=V.DRAFT, user=user, reason=reason)
    return version


def version_approve(*, version_id: int, user: User, request=None, comment: str = "", **credentials):
    """Approve a version in review with the approver's e-signature; a second person where the
    site requires it."""
    return versions.approve(
        model=ChecklistTemplateVersion,
        version_id=version_id,
        site_of=lambda v: v.template.site,
        user=user,
        permission="quality.approve_checklist",
        request=request,
        comment=comment,
        **credentials,
    )


def version_make_effective(*, version_id: int, user: User) -> ChecklistTemplateVersion:
    """The approved version reaches the floor; the previous effective one retires."""
    require(user, "quality.approve_checklist", _("Only quality may make a checklist effective."))
    return versions.make_effective(
        model=ChecklistTemplateVersion, version_id=version_id, parent_field="template", user=user
    )


@transaction.atomic
def version_retire(*, version_id: int, user: User, reason: str) -> ChecklistTemplateVersion:
    require(user, "quality.approve_checklist", _("Only quality may retire a checklist."))
    if not (reason or "").strip():
        raise ValidationFailed(_("Say why it is retired."), field="reason", code="required")
    version = lock(ChecklistTemplateVersion, version_id)
    versions.move(version, target=V.RETIRED, user=user, reason=reason)
    return version


def effective_version(template: ChecklistTemplate) -> ChecklistTemplateVersion:
    version = template.versions.filter(status=V.EFFECTIVE).first()
    if version is None:
        raise Conflict(
            _("Checklist %(checklist)s has no effective version yet.") % {"checklist": template.code},
            field="template",
            code="not_effective",
        )
    return version
