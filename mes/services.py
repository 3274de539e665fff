"""Services of the plant kernel: sign-in by every way in, API tokens, tablet binding and badge PINs."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework.authtoken.models import Token

from mes import throttle
from mes.errors import Conflict, Forbidden, ValidationFailed, full_clean
from mes.models import SignInAttempt, Tablet, User, Workstation
from mes.selectors import site_is_visible_to
from mes.throttle import Scope

Outcome = SignInAttempt.Outcome
PASSWORD_DOORS = {SignInAttempt.Kind.DESK, SignInAttempt.Kind.ADMIN, SignInAttempt.Kind.API_TOKEN}


def _typed(value: str | None, *, field: str) -> str:
    """What a person typed into an identifier field, trimmed; a NUL can't be typed and no
    database would look it up."""
    value = (value or "").strip()
    if "\x00" in value:
        raise ValidationFailed(
            gettext("This contains a character that can't be typed."), field=field, code="invalid"
        )
    return value


# Sign-in services are deliberately not atomic: the throttle counts the attempt in a short
# transaction of its own before the check, and a failure must stay counted and logged even though
# the service then refuses.
def user_sign_in_with_password(
    *, request, username: str, password: str, door: str = SignInAttempt.Kind.DESK
) -> User:
    """Check a username and password at one way in (`door`: the desk, the admin's login or an
    API token request). Throttled with every other way in; records the attempt.

    The admin's login also needs a staff account: a person without one is refused, and that counts
    as a failure like a wrong password.
    """
    if door not in PASSWORD_DOORS:
        raise ValueError(f"{door} is not a way in with a username and password.")
    username = _typed(username, field="username")
    if not username or not password:
        raise ValidationFailed(
            gettext("Enter your username and password."), field="username", code="required"
        )
    reservation = throttle.reserve(kind=door, identifier=username, scope=Scope.USERNAME, request=request)
    user = authenticate(request, username=username, password=password)
    if user is None:
        throttle.record_failure(reservation)
        raise ValidationFailed(
            gettext("Username or password is not right."), field="password", code="wrong_credentials"
        )
    if door == SignInAttempt.Kind.ADMIN and not user.is_staff:
        throttle.record_failure(reservation, outcome=Outcome.NOT_ALLOWED, user=user)
        raise ValidationFailed(
            gettext(
                "This account may not use the admin. Sign in at the desk instead, or ask an administrator."
            ),
            field="username",
            code="not_staff",
        )
    throttle.record_success(reservation, user=user)
    return user


def user_sign_in_with_badge(*, request, badge_number: str, pin: str, tablet: Tablet) -> User:
    """Check a badge and PIN at a bound tablet (`tablet`). Throttled with every other way in, and
    per tablet; records the attempt.

    Only a person with the tablet role who may reach the site of the tablet's workstation gets
    in: a person of another site is refused (403) though their PIN was right.
    """
    badge_number = _typed(badge_number, field="badge_number")
    if not badge_number:
        raise ValidationFailed(
            gettext("Scan or type your badge number."), field="badge_number", code="required"
        )
    if not pin:
        raise ValidationFailed(gettext("Enter your PIN."), field="pin", code="required")
    reservation = throttle.reserve(
        kind=SignInAttempt.Kind.BADGE,
        identifier=badge_number,
        scope=Scope.BADGE,
        request=request,
        tablet=tablet,
    )
    user = authenticate(request, badge_number=badge_number, pin=pin)
    if user is None or not user.has_perm("mes.use_tablet"):
        # Without the tablet role the answer is the same as for a wrong PIN: a badge found lying
        # around tells its finder nothing.
        outcome = Outcome.WRONG_CREDENTIALS if user is None else Outcome.NOT_ALLOWED
        throttle.record_failure(reservation, outcome=outcome, user=user)
        raise ValidationFailed(gettext("Badge or PIN is not right."), field="pin", code="wrong_credentials")
    site = tablet.workstation.line.site
    if not site_is_visible_to(user, site):
        throttle.record_failure(reservation, outcome=Outcome.NOT_ALLOWED, user=user)
        raise Forbidden(
            gettext(
                "You are not assigned to %(name)s, where this tablet's workstation is. Work at a tablet of your own site, or ask a supervisor to give you access to %(name)s."
            )
            % {"name": site.name},
            field="badge_number",
            code="other_site",
        )
    throttle.record_success(reservation, user=user)
    return user


def api_token_issue(*, request, username: str, password: str) -> Token:
    """The API token of the person whose username and password these are, created on first
    request. Signs in through the same throttle and attempt log as every other way in."""
    user = user_sign_in_with_password(
        request=request, username=username, password=password, door=SignInAttempt.Kind.API_TOKEN
    )
    with transaction.atomic():
        token, _ = Token.objects.get_or_create(user=user)
    return token


@transaction.atomic
def user_set_pin(*, user: User, pin: str, by: User, reason: str = "PIN set") -> None:
    """Set a badge PIN (4 to 8 digits), stored hashed like a password."""
    if not (pin.isascii() and pin.isdigit()) or not 4 <= len(pin) <= 8:  # '²' is a digit to Python
        raise ValidationFailed(gettext("A PIN is 4 to 8 digits."), field="pin", code="invalid_pin")
    if not user.badge_number:
        raise ValidationFailed(gettext("Give the person a badge number before a PIN."), field="badge_number")
    user.set_pin(pin)
    user._change_reason = reason
    user._history_user = by
    user.save(update_fields=["pin_hash"])


@transaction.atomic
def tablet_bind(*, workstation: Workstation, name: str, by: User) -> Tablet:
    """Bind a tablet to a workstation. The edge hands the tablet's token to the tablet in a cookie."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(
            gettext("Name the tablet so it can be found later."), field="name", code="required"
        )
    if not workstation.active:
        raise Conflict(
            gettext("Workstation %(code)s is not active.") % {"code": workstation.code}, field="workstation"
        )
    tablet = Tablet(workstation=workstation, name=name, bound_by=by)
    full_clean(tablet)
    tablet._change_reason = f"Tablet bound to {workstation.code}"
    tablet._history_user = by
    tablet.save()
    return tablet


@transaction.atomic
def tablet_revoke(*, tablet: Tablet, by: User, reason: str) -> Tablet:
    """Unbind a tablet; its cookie stops working at once."""
    tablet = Tablet.objects.select_for_update().get(pk=tablet.pk)
    if tablet.revoked_at is not None:
        raise Conflict(gettext("This tablet is already unbound."), code="already_revoked")
    if not (reason or "").strip():
        raise ValidationFailed(gettext("Say why the tablet is unbound."), field="reason", code="required")
    tablet.revoked_at = timezone.now()
    tablet.revoked_by = by
    tablet._change_reason = reason
    tablet._history_user = by
    tablet.save(update_fields=["revoked_at", "revoked_by"])
    return tablet
