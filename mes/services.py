"""Services of the plant kernel: sign-in, tablet binding and badge PINs."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone

from mes.errors import Conflict, Throttled, ValidationFailed, full_clean
from mes.models import Kiosk, SignInAttempt, User, Workstation


def _client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


def sign_in_failures(*, identifier: str) -> int:
    """Failed attempts for this identifier inside the window, since its last success."""
    since = timezone.now() - timedelta(seconds=settings.SIGN_IN_FAILURE_WINDOW_SECONDS)
    last_success = (
        SignInAttempt.objects.filter(identifier=identifier, succeeded=True, at__gte=since)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    failures = SignInAttempt.objects.filter(identifier=identifier, succeeded=False, at__gte=since)
    if last_success:
        failures = failures.filter(at__gt=last_success)
    return failures.count()


def _refuse_if_throttled(identifier: str) -> None:
    if sign_in_failures(identifier=identifier) >= settings.SIGN_IN_MAX_FAILURES:
        minutes = max(1, settings.SIGN_IN_FAILURE_WINDOW_SECONDS // 60)
        raise Throttled(
            f"Too many failed attempts. Try again in {minutes} minutes or ask a supervisor.",
            code="too_many_attempts",
        )


def _record_attempt(*, kind, identifier, user, request, workstation=None, succeeded: bool) -> None:
    SignInAttempt.objects.create(
        kind=kind,
        identifier=identifier,
        user=user,
        workstation=workstation,
        ip_address=_client_ip(request),
        succeeded=succeeded,
    )


# Sign-in services are deliberately not atomic: a failed attempt must be recorded even though
# the service then refuses, or throttling would never see it.
def user_sign_in_with_password(*, request, username: str, password: str) -> User:
    """Check a username and password; refuse while the username is throttled. Records the attempt."""
    username = (username or "").strip()
    if not username or not password:
        raise ValidationFailed("Enter your username and password.", field="username", code="required")
    _refuse_if_throttled(username)
    user = authenticate(request, username=username, password=password)
    _record_attempt(
        kind=SignInAttempt.Kind.PASSWORD,
        identifier=username,
        user=user,
        request=request,
        succeeded=user is not None,
    )
    if user is None:
        raise ValidationFailed(
            "Username or password is not right.", field="password", code="wrong_credentials"
        )
    return user


def user_sign_in_with_badge(*, request, badge_number: str, pin: str, workstation: Workstation) -> User:
    """Check a badge and PIN at a bound workstation tablet; throttled per badge. Records the attempt."""
    badge_number = (badge_number or "").strip()
    if not badge_number:
        raise ValidationFailed("Scan or type your badge number.", field="badge_number", code="required")
    if not pin:
        raise ValidationFailed("Enter your PIN.", field="pin", code="required")
    _refuse_if_throttled(badge_number)
    user = authenticate(request, badge_number=badge_number, pin=pin)
    if user is not None and not user.has_perm("mes.use_tablet"):
        user = None
    _record_attempt(
        kind=SignInAttempt.Kind.BADGE,
        identifier=badge_number,
        user=user,
        request=request,
        workstation=workstation,
        succeeded=user is not None,
    )
    if user is None:
        raise ValidationFailed("Badge or PIN is not right.", field="pin", code="wrong_credentials")
    return user


@transaction.atomic
def user_set_pin(*, user: User, pin: str, by: User, reason: str = "PIN set") -> None:
    """Set a badge PIN (4 to 8 digits), stored hashed like a password."""
    if not pin.isdigit() or not 4 <= len(pin) <= 8:
        raise ValidationFailed("A PIN is 4 to 8 digits.", field="pin", code="invalid_pin")
    if not user.badge_number:
        raise ValidationFailed("Give the person a badge number before a PIN.", field="badge_number")
    user.set_pin(pin)
    user._change_reason = reason
    user._history_user = by
    user.save(update_fields=["pin_hash"])


@transaction.atomic
def kiosk_bind(*, workstation: Workstation, name: str, by: User) -> Kiosk:
    """Bind a tablet to a workstation. The edge hands the kiosk's token to the tablet in a cookie."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Name the tablet so it can be found later.", field="name", code="required")
    if not workstation.active:
        raise Conflict(f"Workstation {workstation.code} is not active.", field="workstation")
    kiosk = Kiosk(workstation=workstation, name=name, bound_by=by)
    full_clean(kiosk)
    kiosk._change_reason = f"Tablet bound to {workstation.code}"
    kiosk._history_user = by
    kiosk.save()
    return kiosk


@transaction.atomic
def kiosk_revoke(*, kiosk: Kiosk, by: User, reason: str) -> Kiosk:
    """Unbind a tablet; its cookie stops working at once."""
    kiosk = Kiosk.objects.select_for_update().get(pk=kiosk.pk)
    if kiosk.revoked_at is not None:
        raise Conflict("This tablet is already unbound.", code="already_revoked")
    if not (reason or "").strip():
        raise ValidationFailed("Say why the tablet is unbound.", field="reason", code="required")
    kiosk.revoked_at = timezone.now()
    kiosk.revoked_by = by
    kiosk._change_reason = reason
    kiosk._history_user = by
    kiosk.save(update_fields=["revoked_at", "revoked_by"])
    return kiosk
