"""One throttle and one attempt log for every way in: the desk sign-in, the admin's login, badge +
PIN at a tablet, API token requests and the re-authentication of an electronic signature.

Why counters reserved before the check, and not a count of the log: checking a password takes a
noticeable time on purpose, so counting earlier failures and then checking let twenty parallel
guesses through before the first of them was recorded. An attempt now *reserves* its place
first: one short transaction locks the counters of its account, its client address and its
tablet (always in the same order), refuses if any of them is at its limit, and counts the
attempt as a failure in each. Only then, outside any transaction, does the caller check the
secret. A success gives the place back (and clears the account's count, so a person who finally
types it right starts afresh); anything else keeps it. However many attempts arrive at once, no
more than the limit are ever checked within a window.

Limits, each within SIGN_IN_FAILURE_WINDOW_SECONDS from the first failure of the window:
per account (the username or badge number entered) SIGN_IN_MAX_FAILURES, per client address
SIGN_IN_MAX_FAILURES_PER_CLIENT, per bound tablet SIGN_IN_MAX_FAILURES_PER_TABLET.

Use::

    reservation = throttle.reserve(kind=..., identifier=username, scope=Scope.USERNAME, request=request)
    user = authenticate(...)                      # outside any transaction
    if user is None:
        throttle.record_failure(reservation)
        raise ValidationFailed(...)
    throttle.record_success(reservation, user=user)

The models live here rather than in `mes.models` (which imports them, as it does the signature
and the audit seal, so Django registers them) so that this module imports no model module: the
signatures module, which `mes.models` imports, can then use the throttle without an import cycle.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from mes import metrics
from mes.errors import Throttled

# Longer input can't name an account; keys and the log keep this much of it.
IDENTIFIER_MAX_LENGTH = 150


class Scope(models.TextChoices):
    """What a counter counts failures of."""

    USERNAME = "username", _("Username")
    BADGE = "badge", _("Badge number")
    CLIENT = "client", _("Client address")
    TABLET = "tablet", _("Tablet")


ACCOUNT_SCOPES = {Scope.USERNAME, Scope.BADGE}
REFUSAL_ORDER = [Scope.USERNAME, Scope.BADGE, Scope.TABLET, Scope.CLIENT]


class SignInAttempt(models.Model):
    """Every sign-in and signing attempt, whatever the way in, with its outcome: the audit trail of
    who tried to get in, from where, and what happened."""

    class Kind(models.TextChoices):
        DESK = "password", _("Desk sign-in (username and password)")
        ADMIN = "admin", _("Admin login")
        BADGE = "badge", _("Badge and PIN at a tablet")
        API_TOKEN = "api_token", _("API token request")
        SIGNATURE = "signature", _("Electronic signature")
        IDENTITY_PROVIDER = "oidc", _("Company account (identity provider)")

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", _("Succeeded")
        WRONG_CREDENTIALS = "wrong_credentials", _("Wrong credentials")
        NOT_ALLOWED = "not_allowed", _("Right credentials, not allowed here")
        THROTTLED = "throttled", _("Refused: too many failures")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    identifier = models.CharField(max_length=150, help_text=_("The username or badge number entered."))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    workstation = models.ForeignKey(
        "mes.Workstation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    tablet = models.ForeignKey(
        "mes.Tablet",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_column="kiosk_id",  # the column the audit seal has hashed since it was created
        help_text=_("The bound tablet the attempt was made at."),
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True, help_text=_("The client's address."))
    outcome = models.CharField(max_length=24, choices=Outcome.choices)
    succeeded = models.BooleanField()
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        app_label = "mes"
        ordering = ["-at"]
        verbose_name = _("sign-in attempt")
        verbose_name_plural = _("sign-in attempts")
        indexes = [models.Index(fields=["identifier", "at"], name="signin_identifier_at")]

    def __str__(self) -> str:
        return f"{self.kind} {self.identifier} {self.outcome} {self.at:%Y-%m-%d %H:%M}"


class SignInCounter(models.Model):
    """Failures counted for one account, client address or tablet in its current window; an
    attempt being checked counts as a failure until it succeeds."""

    scope = models.CharField(max_length=16, choices=Scope.choices)
    key = models.CharField(max_length=200)
    failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField()

    class Meta:
        app_label = "mes"
        ordering = ["scope", "key"]
        verbose_name = _("sign-in counter")
        verbose_name_plural = _("sign-in counters")
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="sign_in_counter_unique")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}: {self.failures}"


def _limit(scope: str) -> int:
    if scope == Scope.CLIENT:
        return settings.SIGN_IN_MAX_FAILURES_PER_CLIENT
    if scope == Scope.TABLET:
        return settings.SIGN_IN_MAX_FAILURES_PER_TABLET
    return settings.SIGN_IN_MAX_FAILURES


def _window() -> timedelta:
    return timedelta(seconds=settings.SIGN_IN_FAILURE_WINDOW_SECONDS)


def client_address(request) -> str | None:
    """The address of the client making the request: REMOTE_ADDR, or behind reverse proxies
    (SIGN_IN_TRUSTED_PROXIES = how many append to X-Forwarded-For) the address the outermost of
    them saw. The header is never read otherwise: any client can write it."""
    if request is None:
        return None
    address = request.META.get("REMOTE_ADDR")
    proxies = settings.SIGN_IN_TRUSTED_PROXIES
    if proxies > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if hops:
            address = hops[max(len(hops) - proxies, 0)]
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def account_key(scope: str, identifier: str) -> str:
    """The counter key of an account. A username's ignores case: changing the case of a guess
    must not start a fresh count."""
    identifier = identifier[:IDENTIFIER_MAX_LENGTH]
    return identifier.casefold() if scope == Scope.USERNAME else identifier


@dataclass(frozen=True)
class Reservation:
    """A place taken in the counters of one attempt; settled by `record_success` or `record_failure`."""

    kind: str
    identifier: str
    account: tuple[str, str]
    counters: tuple[tuple[str, str], ...]
    address: str | None
    tablet_id: int | None
    workstation_id: int | None


def _matching(counters) -> Q:
    return reduce(or_, (Q(scope=scope, key=key) for scope, key in counters))


def _throttled(row: SignInCounter, now: datetime) -> Throttled:
    remaining = row.window_started_at + _window() - now
    minutes = max(1, math.ceil(remaining.total_seconds() / 60))
    wait = ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    if row.scope == Scope.CLIENT:
        return Throttled(
            gettext(
                "Too many failed sign-in attempts from this device. Wait %(wait)s and try again; if they were not yours, tell IT."
            )
            % {"wait": wait},
            code="too_many_attempts_from_client",
        )
    if row.scope == Scope.TABLET:
        return Throttled(
            gettext(
                "Too many failed sign-in attempts at this tablet. Wait %(wait)s and try again, or ask your supervisor to check who is using it."
            )
            % {"wait": wait},
            code="too_many_attempts_at_tablet",
        )
    what = gettext("badge") if row.scope == Scope.BADGE else gettext("account")
    return Throttled(
        gettext(
            "Too many failed attempts for this %(what)s. Wait %(wait)s and try again; if they were not yours, tell your supervisor."
        )
        % {"what": what, "wait": wait},
        code="too_many_attempts",
    )


def reserve(*, kind: str, identifier: str, scope: str, request=None, tablet=None) -> Reservation:
    """Take a place for one attempt in the counters of its account (`scope` USERNAME or BADGE and
    the identifier entered), its client address and its tablet (`tablet`, when made at one).

    Atomic: concurrent attempts queue on the counters' row locks, so each sees the others'
    places. Refuses with `Throttled` (and logs the refused attempt) when any counter is at its
    limit; then nothing is counted.
    """
    if scope not in ACCOUNT_SCOPES:
        raise ValueError(f"An attempt is counted against an account, not a {scope}.")
    identifier = identifier[:IDENTIFIER_MAX_LENGTH]
    account = (scope, account_key(scope, identifier))
    address = client_address(request)
    counters = [account]
    if address:
        counters.append((Scope.CLIENT, address))
    if tablet is not None:
        counters.append((Scope.TABLET, str(tablet.pk)))
    counters.sort()
    reservation = Reservation(
        kind=kind,
        identifier=identifier,
        account=account,
        counters=tuple(counters),
        address=address,
        tablet_id=tablet.pk if tablet is not None else None,
        workstation_id=tablet.workstation_id if tablet is not None else None,
    )
    now = timezone.now()
    # Rows first, in their own statement, so the transaction below only locks and updates.
    SignInCounter.objects.bulk_create(
        [SignInCounter(scope=s, key=k, window_started_at=now) for s, k in counters], ignore_conflicts=True
    )
    with transaction.atomic():
        # Locked in (scope, key) order, as record_success does: no two attempts wait on each other.
        rows = list(
            SignInCounter.objects.select_for_update().filter(_matching(counters)).order_by("scope", "key")
        )
        for row in rows:
            if row.failures == 0 or now - row.window_started_at >= _window():
                row.failures, row.window_started_at = 0, now  # a new window opens
        full = [row for row in rows if row.failures >= _limit(row.scope)]
        # The refusal names what is most the person's own: their account, then the tablet.
        refused = min(full, key=lambda row: REFUSAL_ORDER.index(row.scope), default=None)
        if refused is None:
            for row in rows:
                row.failures += 1
                row.save(update_fields=["failures", "window_started_at"])
    if refused is not None:
        _log(reservation, outcome=SignInAttempt.Outcome.THROTTLED, user=None)
        raise _throttled(refused, now)
    return reservation


def record_success(reservation: Reservation, *, user) -> None:
    """The attempt succeeded: give its place back and clear the account's count; log it."""
    with transaction.atomic():
        rows = SignInCounter.objects.select_for_update().filter(_matching(reservation.counters))
        for row in rows.order_by("scope", "key"):
            if (row.scope, row.key) == reservation.account:
                row.failures = 0
            else:
                row.failures = max(row.failures - 1, 0)
            row.save(update_fields=["failures"])
        _log(reservation, outcome=SignInAttempt.Outcome.SUCCEEDED, user=user)


def record_failure(
    reservation: Reservation, *, outcome: str = SignInAttempt.Outcome.WRONG_CREDENTIALS, user=None
) -> None:
    """The attempt failed (wrong credentials, or right ones not allowed here): its place stays
    counted; log it with the person when they are known."""
    if outcome == SignInAttempt.Outcome.SUCCEEDED:
        raise ValueError("A failure can't have succeeded.")
    _log(reservation, outcome=outcome, user=user)


def _log(reservation: Reservation, *, outcome: str, user) -> None:
    if outcome != SignInAttempt.Outcome.SUCCEEDED:
        metrics.SIGN_IN_FAILURES.labels(way=reservation.kind, outcome=outcome).inc()
    SignInAttempt.objects.create(
        kind=reservation.kind,
        identifier=reservation.identifier,
        user=user,
        workstation_id=reservation.workstation_id,
        tablet_id=reservation.tablet_id,
        ip_address=reservation.address,
        outcome=outcome,
        succeeded=outcome == SignInAttempt.Outcome.SUCCEEDED,
    )


def failures(*, scope: str, key: str) -> int:
    """Failures counted now for one account (its `account_key`), client address or tablet (its
    tablet's id), attempts being checked included; 0 once the window has passed."""
    row = SignInCounter.objects.filter(scope=scope, key=key).first()
    if row is None or timezone.now() - row.window_started_at >= _window():
        return 0
    return row.failures
