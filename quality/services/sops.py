"""SOP / work-instruction documents: versions with the shared lifecycle, and acknowledgements."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from mes.content import clean_translations
from mes.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mes.models import Site, User, Workstation
from mes.selectors import site_is_visible_to
from mes.signatures import Meaning, signature_reauthenticate, signature_sign
from quality.content import SOP_TEXTS
from quality.models import SopAcknowledgement, SopDocument, SopImage, SopVersion
from quality.services import versions
from quality.services.records import lock, require, save
from quality.services.uploads import image_format
from quality.states import VersionStatus

V = VersionStatus
AUTHOR = "quality.author_sop"
MAX_PDF_BYTES = 20 * 1024 * 1024
MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


def _check_pdf(pdf) -> None:
    if pdf is None:
        return
    if pdf.size > MAX_PDF_BYTES:
        raise ValidationFailed(_("The PDF is larger than 20 MB."), field="pdf", code="too_large")
    pdf.seek(0)
    if pdf.read(5) != b"%PDF-":
        raise ValidationFailed(_("The file is not a PDF."), field="pdf", code="not_a_pdf")
    pdf.seek(0)


@transaction.atomic
def sop_create(*, site: Site, code: str, title: str, user: User, body: str = "", pdf=None) -> SopVersion:
    """Create an SOP document and its first draft version (text, a PDF, or both)."""
    require(user, AUTHOR, _("Only quality may author SOPs."))
    _check_pdf(pdf)
    if SopDocument.objects.filter(site=site, code=(code or "").strip()).exists():
        raise ValidationFailed(
            _("An SOP %(code)s exists already.") % {"code": code}, field="code", code="duplicate"
        )
    document = SopDocument(site=site, code=(code or "").strip(), title=(title or "").strip())
    save(document, user=user, reason=gettext_noop("SOP created"))
    version = SopVersion(document=document, version=1, body=body or "", created_by=user)
    if pdf is not None:
        version.pdf.save(pdf.name, pdf, save=False)
    save(version, user=user, reason=gettext_noop("First version"))
    return version


@transaction.atomic
def sop_version_new_draft(*, document_id: int, user: User, change_note: str = "") -> SopVersion:
    require(user, AUTHOR, _("Only quality may author SOPs."))
    document = lock(SopDocument, document_id)
    open_draft = document.versions.filter(status__in=[V.DRAFT, V.IN_REVIEW]).first()
    if open_draft is not None:
        return open_draft
    latest = document.versions.order_by("-version").first()
    version = SopVersion(
        document=document,
        version=(latest.version if latest else 0) + 1,
        created_by=user,
        body=latest.body if latest else "",
        translations=latest.translations if latest else {},
        pdf=latest.pdf.name if latest and latest.pdf else "",
        change_note=(change_note or "")[:500],
    )
    save(version, user=user, reason=change_note or gettext_noop("New draft version"))
    for image in latest.images.all() if latest else []:
        copy = SopImage(
            version=version,
            number=image.number,
            image=image.image.name,
            caption=image.caption,
            uploaded_by=user,
        )
        save(copy, user=user, reason=f"Carried over from version {latest.version}")
    return version


@transaction.atomic
def sop_version_update(
    *,
    version_id: int,
    user: User,
    reason: str,
    body: str | None = None,
    pdf=None,
    translations: dict | None = None,
) -> SopVersion:
    """Change a draft's text, PDF or translations (`{"de": {"body": ...}}`; None keeps them), saying
    why: the reason is the history row's."""
    require(user, AUTHOR, _("Only quality may author SOPs."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give a reason for the change."), field="reason", code="reason_required")
    version = lock(SopVersion, version_id)
    versions.check_editable(version)
    _check_pdf(pdf)
    if body is not None:
        version.body = body
    if translations is not None:
        version.translations = clean_translations(translations, SOP_TEXTS)
    if pdf is not None:
        version.pdf.save(pdf.name, pdf, save=False)
    save(version, user=user, reason=reason)
    return version


def _check_image(upload) -> None:
    if upload is None:
        raise ValidationFailed(_("Choose an image file."), field="image", code="required")
    if upload.size > MAX_IMAGE_BYTES:
        raise ValidationFailed(_("The image is larger than 10 MB."), field="image", code="too_large")
    if image_format(upload) not in IMAGE_FORMATS:
        raise ValidationFailed(
            _("The file is not an image (JPEG, PNG, WebP or GIF)."), field="image", code="not_an_image"
        )


@transaction.atomic
def sop_image_add(*, version_id: int, user: User, image, caption: str = "") -> SopImage:
    """Add an image to a draft version; its text places it as `![caption](image:N)`."""
    require(user, AUTHOR, _("Only quality may author SOPs."))
    version = lock(SopVersion, version_id)
    versions.check_editable(version)
    _check_image(image)
    last = version.images.order_by("-number").values_list("number", flat=True).first() or 0
    added = SopImage(
        version=version, number=last + 1, caption=(caption or "").strip()[:200], uploaded_by=user
    )
    added.image.save(image.name, image, save=False)
    save(added, user=user, reason=f"Image {added.number} added")
    return added


@transaction.atomic
def sop_version_submit(*, version_id: int, user: User) -> SopVersion:
    require(user, AUTHOR, _("Only quality may author SOPs."))
    version = lock(SopVersion, version_id)
    if not version.body.strip() and not version.pdf:
        raise ValidationFailed(_("Write the instruction or upload a PDF first."), field="body", code="empty")
    versions.move(version, target=V.IN_REVIEW, user=user, reason=gettext_noop("Sent to review"))
    return version


def sop_version_approve(
    *, version_id: int, user: User, request=None, comment: str = "", **credentials
) -> SopVersion:
    return versions.approve(
        model=SopVersion,
        version_id=version_id,
        site_of=lambda v: v.document.site,
        user=user,
        permission="quality.approve_sop",
        request=request,
        comment=comment,
        **credentials,
    )


def sop_version_make_effective(*, version_id: int, user: User) -> SopVersion:
    require(user, "quality.approve_sop", _("Only quality may make an SOP effective."))
    return versions.make_effective(
        model=SopVersion, version_id=version_id, parent_field="document", user=user
    )


def _acknowledgeable_at(version: SopVersion, user: User, workstation: Workstation | None) -> bool:
    if workstation is not None:
        return version.document.site_id == workstation.line.site_id
    return site_is_visible_to(user, version.document.site_id)


def sop_acknowledge(
    *,
    version_id: int,
    user: User,
    workstation: Workstation | None = None,
    badge_number: str | None = None,
    pin: str | None = None,
    request=None,
) -> SopAcknowledgement:
    """Record, signed with the operator's badge and PIN (meaning "reviewed": read and understood),
    that they have read this effective version; a second acknowledgement of the same version
    returns the first and asks for nothing. A version of another site's document (than the
    workstation's, or than the person's sites without one) is refused as not found, like one that
    never was. The badge and PIN are checked before the transaction, so a wrong PIN is counted
    toward lock-out though nothing is written."""
    if not user.has_perm("quality.acknowledge_sop"):
        raise Forbidden(_("You may not acknowledge SOPs."), code="not_allowed")
    version = SopVersion.objects.select_related("document").filter(pk=version_id).first()
    if version is None or not _acknowledgeable_at(version, user, workstation):
        raise NotFound(_("No such SOP at this site."), field="version", code="unknown_sop")
    if version.status != V.EFFECTIVE:
        raise Conflict(_("Only the effective version of an SOP can be acknowledged."), code="not_effective")
    existing = SopAcknowledgement.objects.filter(version=version, user=user).first()
    if existing is not None:
        return existing
    if not badge_number:
        raise ValidationFailed(_("Scan or type your badge to sign."), field="badge_number", code="required")
    reauth = signature_reauthenticate(signer=user, badge_number=badge_number, pin=pin, request=request)
    try:
        with transaction.atomic():
            acknowledgement = SopAcknowledgement.objects.create(
                version=version, user=user, workstation=workstation, acknowledged_at=timezone.now()
            )
            signature_sign(
                record=acknowledgement,
                signer=user,
                meaning=Meaning.REVIEWED,
                reauth=reauth,
                comment=f"Read and understood {version.document.code} v{version.version}",
            )
            return acknowledgement
    except IntegrityError:
        return SopAcknowledgement.objects.get(version=version, user=user)
