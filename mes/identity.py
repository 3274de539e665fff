"""Desk sign-in with the plant's identity provider (OpenID Connect), when one is configured.

The provider (Microsoft Entra ID, Okta, Keycloak...) vouches for who the person is; this module
decides what they may do here, from the provider's groups and the plant's mapping
(`OIDC_GROUP_ROLES`: group -> role, `OIDC_GROUP_SITES`: group -> site code or `*`):

- a person is found by the provider's stable subject (`sub`), never by e-mail (which changes);
- the first sign-in creates them, with the role and sites their groups map to; every later
  sign-in brings role, sites and name up to date, each change in the person's history with why;
- a person whose groups map to no role, or whom the provider reports as disabled, is
  deactivated here and refused;
- the ID token must be signed by the provider (its JWKS), issued by `OIDC_OP_ISSUER` and meant
  for this client (`aud`); mozilla-django-oidc checks the signature and the nonce, this module
  the issuer and the audience.

Local accounts, badge + PIN and API tokens are not affected, and an e-signature still asks for
the local password or the badge and PIN.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.utils.translation import gettext
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from mes import roles
from mes.models import Site, User

_USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")


class Refused(Exception):
    """The provider vouched for the person, and the plant's mapping does not let them in."""


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(item) for item in value]


def mapped_access(claims: dict) -> tuple[str | None, set[str], bool]:
    """The role, site codes and plant-wide flag the provider's groups map to."""
    groups = _as_list(claims.get(settings.OIDC_GROUPS_CLAIM))
    mapped_roles = [
        settings.OIDC_GROUP_ROLES[group] for group in groups if group in settings.OIDC_GROUP_ROLES
    ]
    # The most powerful mapped role wins (ALL_ROLES runs from operator to admin).
    role = max(mapped_roles, key=roles.ALL_ROLES.index, default=None)
    codes = {settings.OIDC_GROUP_SITES[group] for group in groups if group in settings.OIDC_GROUP_SITES}
    return role, codes - {"*"}, "*" in codes


def _username(claims: dict) -> str:
    base = claims.get("preferred_username") or claims.get("email") or claims["sub"]
    base = _USERNAME_UNSAFE.sub("-", str(base))[:140] or "person"
    candidate, n = base, 1
    while User.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base[:136]}-{n}"
    return candidate


def _say(user: User, reason: str) -> None:
    user._change_reason = reason[:100]


def user_sync_from_identity_provider(claims: dict) -> User:
    """Create or bring up to date the person the provider's `claims` describe; refuse (and
    deactivate) one the mapping does not let in. Returns the person, active."""
    user, refusal = _sync(claims)
    if refusal:
        raise Refused(refusal)  # after the commit: the deactivation stays
    return user


@transaction.atomic
def _sync(claims: dict) -> tuple[User | None, str | None]:
    subject = str(claims["sub"])
    user = User.objects.select_for_update().filter(oidc_subject=subject).first()
    role, site_codes, all_sites = mapped_access(claims)
    disabled = claims.get(settings.OIDC_ACTIVE_CLAIM) is False if settings.OIDC_ACTIVE_CLAIM else False
    if role is None or disabled:
        why = (
            gettext("the identity provider reports the account disabled")
            if disabled
            else gettext("no MES role in the provider's groups")
        )
        if user is not None and user.is_active:
            user.is_active = False
            _say(user, f"Deactivated at sign-in: {why}")
            user.save(update_fields=["is_active"])
        return user, gettext(
            "Your company account may not use the MES (%(why)s). Ask your supervisor or IT."
        ) % {"why": why}
    sites = list(Site.objects.filter(code__in=site_codes))
    unknown = site_codes - {site.code for site in sites}
    if unknown:
        return user, gettext("The sign-in mapping names sites that do not exist: %(sites)s.") % {
            "sites": ", ".join(sorted(unknown))
        }
    created = user is None
    if created:
        user = User(username=_username(claims), oidc_subject=subject)
        user.set_unusable_password()
    changes = []
    for field, value in (
        ("first_name", str(claims.get("given_name") or "")[:150]),
        ("last_name", str(claims.get("family_name") or "")[:150]),
        ("email", str(claims.get("email") or "")[:254]),
        ("all_sites", all_sites),
        ("is_active", True),
    ):
        if getattr(user, field) != value:
            setattr(user, field, value)
            changes.append(field)
    if not user.first_name and not user.last_name and claims.get("name"):
        user.first_name = str(claims["name"])[:150]
        changes.append("name")
    if created or changes:
        _say(
            user,
            "Created at first sign-in with the identity provider"
            if created
            else "Updated from the identity provider: " + ", ".join(changes),
        )
        user.save()
    if set(user.groups.values_list("name", flat=True)) != {role}:
        _say(user, f"Role from the identity provider's groups: {role}")
        user.groups.set([Group.objects.get(name=role)])
    if set(user.sites.all()) != set(sites):
        user.sites.set(sites)
    return user, None


class PlantIdentityBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's code flow, with the plant's own checks and person mapping."""

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        audiences = _as_list(payload.get("aud"))
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The ID token was issued for another application (audience).")
        if payload.get("iss") != settings.OIDC_OP_ISSUER:
            raise SuspiciousOperation("The ID token was issued by another provider (issuer).")
        return payload

    def verify_claims(self, claims):
        return bool(claims.get("sub"))

    def filter_users_by_claims(self, claims):
        return User.objects.filter(oidc_subject=str(claims["sub"]))

    def create_user(self, claims):
        return self._sync(claims)

    def update_user(self, user, claims):
        return self._sync(claims)

    def _sync(self, claims):
        try:
            return user_sync_from_identity_provider(claims)
        except Refused as refusal:
            # The callback view shows the reason; returning no person refuses the sign-in.
            self.request.oidc_refusal = str(refusal)
            raise SuspiciousOperation(str(refusal)) from refusal
