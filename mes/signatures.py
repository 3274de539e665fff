"""Electronic signatures (21 CFR Part 11), usable on any record of any app.

A signature binds a person, a meaning and a moment to the *content* of a record:

- the signer re-authenticates at every signing (§11.200(a)): their password, or their badge and
  PIN (two components, for operators at a tablet). It goes through the same throttle as every
  way in (`mes.throttle`): a wrong password fails the signing, is recorded as a `SignInAttempt`
  of kind "signature" and counts toward the same lock-out as sign-in;
- it records the signer, their printed name, the meaning (authored, reviewed, approved,
  performed, verified, released, rejected) and the UTC time (§11.50), and a SHA-256 hash of the signed
  record's content, which links the signature to the record (§11.70): if the content changes
  afterwards, `signature_is_intact` says the signature is broken;
- signatures are never updated or deleted (on PostgreSQL a trigger refuses both).

A record says what its signed content is by a method `signature_content()` returning a
JSON-serialisable dict; without it, the record's concrete field values are used.

Use: inside a business action that changes a record and signs it, re-authenticate *before* the
action's transaction, so a wrong password is recorded even though the action is refused::

    reauth = signature_reauthenticate(signer=user, password=password)   # outside the transaction
    with transaction.atomic():
        ...change the record...
        signature_sign(record=record, signer=user, meaning=Meaning.APPROVED, reauth=reauth)

`signature_sign(record=..., signer=..., meaning=..., password=...)` also takes the credentials
directly and does both steps.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mes import throttle
from mes.errors import Forbidden, ValidationFailed
from mes.history import HistoricalRecords
from mes.throttle import Scope, SignInAttempt

if TYPE_CHECKING:
    from mes.models import User

# A re-authentication is good for one signing, made right away.
REAUTH_MAX_AGE_SECONDS = 120


class Meaning(models.TextChoices):
    AUTHORED = "authored", _("Authored")
    REVIEWED = "reviewed", _("Reviewed")
    APPROVED = "approved", _("Approved")
    PERFORMED = "performed", _("Performed")
    VERIFIED = "verified", _("Verified")
    RELEASED = "released", _("Released")
    # A reviewer's refusal of a record (a production record sent back): the signer says "no".
    REJECTED = "rejected", _("Rejected")
    # A supervisor's decision to go past a control's refusal (an order completed over a missing
    # checklist): the signer takes responsibility for the exception.
    OVERRIDDEN = "overridden", _("Overridden")


class Method(models.TextChoices):
    PASSWORD = "password", _("Password")
    BADGE_PIN = "badge_pin", _("Badge and PIN")


class Signature(models.Model):
    """One electronic signature on one record. Append-only."""

    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, related_name="+", verbose_name=_("record type")
    )
    object_id = models.CharField(max_length=64, verbose_name=_("record id"))
    record = GenericForeignKey("content_type", "object_id")
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="signatures",
        verbose_name=_("signer"),
    )
    printed_name = models.CharField(
        max_length=300,
        help_text=_("The signer's full name when they signed."),
        verbose_name=_("printed name"),
    )
    meaning = models.CharField(max_length=16, choices=Meaning.choices, verbose_name=_("meaning"))
    method = models.CharField(max_length=16, choices=Method.choices, verbose_name=_("method"))
    signed_at = models.DateTimeField(help_text=_("UTC."), verbose_name=_("signed at"))
    content_hash = models.CharField(
        max_length=64, help_text=_("SHA-256 of the record's signed content."), verbose_name=_("content hash")
    )
    comment = models.CharField(max_length=500, blank=True, verbose_name=_("comment"))
    # A signature is append-only; its history row ("+") puts it in the sealed audit trail.
    history = HistoricalRecords()

    class Meta:
        app_label = "mes"
        ordering = ["signed_at", "id"]
        verbose_name = _("electronic signature")
        verbose_name_plural = _("electronic signatures")
        indexes = [models.Index(fields=["content_type", "object_id"], name="signature_record")]

    def __str__(self) -> str:
        return manifestation(self)


# --- the content of a record -------------------------------------------------------------------


def _plain(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "name") and hasattr(value, "storage"):  # a FieldFile
        return value.name or ""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def record_content(record: models.Model) -> dict:
    """What a signature on `record` covers: `record.signature_content()` or its concrete fields."""
    if hasattr(record, "signature_content"):
        content = record.signature_content()
    else:
        content = {f.attname: getattr(record, f.attname) for f in record._meta.concrete_fields}
    return {"record": record._meta.label_lower, "pk": str(record.pk), "content": _plain(content)}


def content_hash(record: models.Model) -> str:
    canonical = json.dumps(record_content(record), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- re-authentication ---------------------------------------------------------------------------


@dataclass
class Reauthentication:
    """Proof that `signer` re-entered their credentials just now; good for one signing."""

    signer: User
    method: str
    at: float = field(default_factory=time.monotonic)
    used: bool = False


def signature_reauthenticate(
    *,
    signer: User,
    password: str | None = None,
    badge_number: str | None = None,
    pin: str | None = None,
    request=None,
) -> Reauthentication:
    """Check the signer's credentials: their password, or their badge and PIN (both components).

    Not atomic on purpose: the throttle counts the attempt (kind "signature") before the check,
    so a wrong password stays counted toward lock-out though the signing is refused. Refused
    while the account or the client is locked out, whichever way in the failures came from.
    """
    if signer is None or not signer.is_active:
        raise Forbidden(gettext("Only an active user can sign."), code="signer_inactive")
    if password:
        method, identifier, scope = Method.PASSWORD, signer.username, Scope.USERNAME
    elif badge_number or pin:
        method, identifier, scope = Method.BADGE_PIN, (badge_number or "").strip(), Scope.BADGE
        if not identifier:
            raise ValidationFailed(
                gettext("Scan or type your badge number to sign."), field="badge_number", code="required"
            )
        if "\x00" in identifier:
            raise ValidationFailed(
                gettext("This badge number can't be typed."), field="badge_number", code="invalid"
            )
        if not pin:
            raise ValidationFailed(gettext("Enter your PIN to sign."), field="pin", code="required")
    else:
        raise ValidationFailed(gettext("Enter your password to sign."), field="password", code="required")
    reservation = throttle.reserve(
        kind=SignInAttempt.Kind.SIGNATURE, identifier=identifier, scope=scope, request=request
    )
    if method == Method.PASSWORD:
        ok = signer.check_password(password)
    else:
        found = authenticate(request, badge_number=identifier, pin=pin)
        ok = found is not None and found.pk == signer.pk
    if not ok:
        throttle.record_failure(reservation)
        field_name = "password" if method == Method.PASSWORD else "pin"
        what = "Password" if method == Method.PASSWORD else "Badge or PIN"
        raise ValidationFailed(
            gettext("%(what)s is not right: not signed.") % {"what": what},
            field=field_name,
            code="wrong_credentials",
        )
    throttle.record_success(reservation, user=signer)
    return Reauthentication(signer=signer, method=method)


# --- signing -----------------------------------------------------------------------------------


def signature_sign(
    *,
    record: models.Model,
    signer: User,
    meaning: str,
    password: str | None = None,
    badge_number: str | None = None,
    pin: str | None = None,
    reauth: Reauthentication | None = None,
    comment: str = "",
    request=None,
) -> Signature:
    """Sign `record` with `meaning` after re-authentication (the credentials, or a fresh `reauth`).

    Guarantees: the signature holds the signer, printed name, meaning, UTC time and the hash of
    the record's content as it is now; a re-authentication signs once only.
    """
    if meaning not in Meaning.values:
        raise ValidationFailed(
            gettext("'%(meaning)s' is not a meaning of a signature.") % {"meaning": meaning},
            field="meaning",
            code="unknown_meaning",
        )
    if record.pk is None:
        raise ValidationFailed(gettext("Only a saved record can be signed."), code="unsaved_record")
    if reauth is None:
        reauth = signature_reauthenticate(
            signer=signer, password=password, badge_number=badge_number, pin=pin, request=request
        )
    if reauth.signer.pk != signer.pk:
        raise Forbidden(gettext("The re-authentication belongs to someone else."), code="wrong_signer")
    if reauth.used or time.monotonic() - reauth.at > REAUTH_MAX_AGE_SECONDS:
        raise Forbidden(gettext("Re-enter your credentials for this signature."), code="reauth_expired")
    reauth.used = True
    with transaction.atomic():
        signature = Signature(
            content_type=ContentType.objects.get_for_model(record, for_concrete_model=True),
            object_id=str(record.pk),
            signer=signer,
            printed_name=signer.printed_name,
            meaning=meaning,
            method=reauth.method,
            signed_at=timezone.now().astimezone(UTC),
            content_hash=content_hash(record),
            comment=(comment or "")[:500],
        )
        signature._history_user = signer
        # The sealed history keeps the system's reasons in English and shows them in the reader's
        # language (`in_language`), so the reason is the meaning alone: what was signed is in the
        # signature's own fields (record type and id).
        with translation.override("en"):
            signature._change_reason = str(Meaning(meaning).label)
        signature.save(force_insert=True)
        return signature


# --- reading -----------------------------------------------------------------------------------


def signatures_for(record: models.Model):
    """The signatures on a record, oldest first."""
    return Signature.objects.filter(
        content_type=ContentType.objects.get_for_model(record, for_concrete_model=True),
        object_id=str(record.pk),
    ).select_related("signer")


def signature_is_intact(signature: Signature, record: models.Model | None = None) -> bool:
    """True while the signed record's content still hashes to what was signed."""
    record = record if record is not None else signature.record
    return record is not None and content_hash(record) == signature.content_hash


@dataclass(frozen=True)
class Manifestation:
    """What is shown and printed with a signed record (§11.50): name, time, meaning, and whether
    the record is unchanged since."""

    printed_name: str
    meaning: str
    signed_at: datetime
    method: str
    intact: bool
    comment: str = ""

    def __str__(self) -> str:
        text = f"{self.meaning} by {self.printed_name} on {self.signed_at:%Y-%m-%d %H:%M:%S} UTC"
        return text if self.intact else f"{text} — BROKEN: the record changed after signing"

    @classmethod
    def of(cls, signature: Signature, *, current_hash: str | None) -> Manifestation:
        """The manifestation of `signature`, given the signed record's content hash now (None
        when the record is gone)."""
        return cls(
            printed_name=signature.printed_name,
            meaning=str(Meaning(signature.meaning).label),
            signed_at=signature.signed_at.astimezone(UTC),
            method=str(Method(signature.method).label),
            intact=current_hash is not None and signature.content_hash == current_hash,
            comment=signature.comment,
        )


def manifestation(signature: Signature, record: models.Model | None = None) -> Manifestation:
    record = record if record is not None else signature.record
    return Manifestation.of(signature, current_hash=content_hash(record) if record is not None else None)


def manifestations(record: models.Model) -> list[Manifestation]:
    """Every signature on a record as shown to people, oldest first; one hash of the record."""
    current = content_hash(record)
    return [Manifestation.of(s, current_hash=current) for s in signatures_for(record)]
