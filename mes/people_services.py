"""Services of the people desk: a person from hire to leaving, and their badge PIN.

Who may do what is the rule of `mes.people_selectors` (an administrator everyone; a supervisor
the people of their own sites, roles up to supervisor, the sites they see), checked here again
whichever edge calls: the desk, the `import_people` command. Every change writes the person's
history with who (`by`) and why: the reason the person acting gives, always (a reason the system
made up would say what happened, which the history shows anyway, not why), refused at `reason`
when none is given. An action that would change nothing writes nothing, so a repeated import
leaves no trace.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils.translation import gettext, gettext_noop

from mes import roles, throttle
from mes.errors import Conflict, Forbidden, ValidationFailed, full_clean
from mes.models import SignInAttempt, Site, Tablet, User
from mes.people_selectors import may_grant_every_site, may_manage, roles_grantable_by, sites_grantable_by
from mes.services import _typed, user_set_pin
from mes.throttle import Scope

ISSUED_PIN_DIGITS = 6
# The history keeps this much of a reason (simple-history's column).
REASON_MAX_LENGTH = User.history.model._meta.get_field("history_change_reason").max_length


def _reason(reason: str | None, *, ask: str) -> str:
    """The reason given, trimmed to what the history keeps; refused at `reason` (saying `ask`)
    when there is none."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(ask, field="reason", code="required")
    return reason[:REASON_MAX_LENGTH]


def _say(person: User, *, by: User, reason: str) -> None:
    person._history_user = by
    person._change_reason = reason


def _require_manageable(by: User, person: User) -> None:
    if not may_manage(by, person):
        raise Forbidden(
            gettext(
                "You may not manage this person: they are not of your sites, or their role is above yours."
            ),
            code="not_manageable",
        )


def _check_role(by: User, role: str) -> Group:
    if role not in roles.ALL_ROLES:
        raise ValidationFailed(
            gettext("'%(role)s' is no role. Choose one of: %(roles)s.")
            % {"role": role, "roles": ", ".join(roles.ALL_ROLES)},
            field="role",
            code="unknown_role",
        )
    if role not in roles_grantable_by(by):
        raise Forbidden(
            gettext("You may not give the %(role)s role.") % {"role": role},
            field="role",
            code="role_not_grantable",
        )
    return Group.objects.get(name=role)


def _check_sites(by: User, sites: Iterable[Site], *, all_sites: bool, kept: Iterable[Site] = ()) -> set[Site]:
    """The sites the person will have: those given, which `by` must see, and `kept`, those of the
    person's sites that `by` does not see (a supervisor leaves them as they are)."""
    sites = set(sites)
    if all_sites and not may_grant_every_site(by):
        raise Forbidden(
            gettext("Only an administrator may give a person every site."), field="sites", code="all_sites"
        )
    beyond = sites - set(sites_grantable_by(by))
    if beyond:
        codes = ", ".join(sorted(site.code for site in beyond))
        raise Forbidden(
            gettext("You may not give a site you don't see: %(codes)s.") % {"codes": codes},
            field="sites",
            code="site_not_grantable",
        )
    if not sites and not all_sites:
        raise ValidationFailed(gettext("Give the person at least one site."), field="sites", code="required")
    return sites | set(kept)


def _check_badge(badge_number: str | None, *, person: User | None) -> str | None:
    """The badge number typed, trimmed (None for none); refused when another person holds it."""
    badge_number = _typed(badge_number, field="badge_number") or None
    holders = User.objects.filter(badge_number=badge_number)
    if person is not None:
        holders = holders.exclude(pk=person.pk)
    if badge_number and holders.exists():
        raise Conflict(
            gettext("Badge %(badge_number)s is already in use by another person.")
            % {"badge_number": badge_number},
            field="badge_number",
            code="badge_in_use",
        )
    return badge_number


def _save(person: User, **kwargs) -> None:
    """Save, answering a concurrent claim of the same username or badge as the checks above would."""
    try:
        with transaction.atomic():
            person.save(**kwargs)
    except IntegrityError:
        if User.objects.filter(badge_number=person.badge_number).exclude(pk=person.pk).exists():
            raise Conflict(
                gettext("This badge is already in use."), field="badge_number", code="badge_in_use"
            ) from None
        raise Conflict(
            gettext("This username is already in use."), field="username", code="username_in_use"
        ) from None


def _set_access(person: User, *, group: Group | None, sites: set[Site] | None) -> None:
    """Set the person's role and sites without a history row per change: simple-history writes one
    for every many-to-many signal (a `set` sends a removal and an addition), and the save that
    follows writes the one row holding role and sites as they now are."""
    person.skip_history_when_saving = True
    try:
        if group is not None:
            person.groups.set([group])
        if sites is not None:
            person.sites.set(sites)
    finally:
        del person.skip_history_when_saving


@transaction.atomic
def person_create(
    *,
    by: User,
    username: str,
    role: str,
    sites: Iterable[Site],
    all_sites: bool = False,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    badge_number: str | None = None,
    language: str = "",
    reason: str = "",
) -> User:
    """Create a person with a role and sites that `by` may give. They sign in with a badge and a
    PIN issued later (`person_issue_pin`), or at the desk through the company's sign-in; no
    password is set. Writes the person's history: their creation, then their role and sites, with
    the reason given (required)."""
    reason = _reason(reason, ask=gettext("Say why this person is added (kept in their history)."))
    username = _typed(username, field="username")
    if not username:
        raise ValidationFailed(gettext("Enter a username."), field="username", code="required")
    group = _check_role(by, role)
    final_sites = _check_sites(by, sites, all_sites=all_sites)
    badge_number = _check_badge(badge_number, person=None)
    if User.objects.filter(username=username).exists():
        raise Conflict(
            gettext("The username %(username)s is already in use.") % {"username": username},
            field="username",
            code="username_in_use",
        )
    person = User(
        username=username,
        first_name=(first_name or "").strip(),
        last_name=(last_name or "").strip(),
        email=(email or "").strip(),
        badge_number=badge_number,
        all_sites=all_sites,
        language=language or "",
    )
    person.set_unusable_password()
    full_clean(person, validate_unique=False)
    _say(person, by=by, reason=reason)
    _save(person)
    _set_access(person, group=group, sites=final_sites)
    _save(person, update_fields=["all_sites"])  # the history row with the role and sites
    return person


DETAIL_FIELDS = ("first_name", "last_name", "email", "badge_number", "all_sites", "language")


@transaction.atomic
def person_update(
    *,
    person: User,
    by: User,
    role: str,
    sites: Iterable[Site],
    all_sites: bool = False,
    first_name: str = "",
    last_name: str = "",
    email: str | None = "",
    badge_number: str | None = None,
    language: str | None = None,
    reason: str = "",
) -> list[str]:
    """Bring a person's name, e-mail, badge, role and sites to these; returns what changed (empty:
    nothing was written). `email=None` and `language=None` leave those as they are. Of the person's sites, those
    `by` does not see stay as they are. Nobody changes their own role. A reason is required."""
    _require_manageable(by, person)
    reason = _reason(reason, ask=gettext("Say why the person is changed (kept in their history)."))
    person = User.objects.select_for_update().get(pk=person.pk)
    group = _check_role(by, role)
    seen = set(sites_grantable_by(by))
    current_sites = set(person.sites.all())
    final_sites = _check_sites(by, sites, all_sites=all_sites, kept=current_sites - seen)
    wanted = {
        "first_name": (first_name or "").strip(),
        "last_name": (last_name or "").strip(),
        "email": person.email if email is None else email.strip(),
        "badge_number": _check_badge(badge_number, person=person),
        "all_sites": all_sites,
        "language": person.language if language is None else language,
    }
    changed = [field for field in DETAIL_FIELDS if getattr(person, field) != wanted[field]]
    role_changes = roles.role_of(person) != role or person.groups.count() != 1
    if role_changes and person.pk == by.pk:
        raise Forbidden(
            gettext("You can't change your own role. Ask another administrator."),
            field="role",
            code="own_role",
        )
    if role_changes:
        changed.append("role")
    if final_sites != current_sites:
        changed.append("sites")
    if not changed:
        return []
    for field in DETAIL_FIELDS:
        setattr(person, field, wanted[field])
    full_clean(person, validate_unique=False)
    _set_access(
        person, group=group if role_changes else None, sites=final_sites if "sites" in changed else None
    )
    _say(person, by=by, reason=reason)
    _save(person, update_fields=[f for f in DETAIL_FIELDS if f in changed] or ["all_sites"])
    return changed


@transaction.atomic
def person_issue_pin(*, person: User, by: User, reason: str = "") -> str:
    """Give the person a new random PIN of ISSUED_PIN_DIGITS digits and return it: the only time it
    is seen (it is stored hashed). Their old PIN stops working; they may change the new one at a
    tablet (`person_change_own_pin`). A reason is required."""
    _require_manageable(by, person)
    reason = _reason(reason, ask=gettext("Say why a new PIN is issued (kept in their history)."))
    person = User.objects.select_for_update().get(pk=person.pk)
    if not person.is_active:
        raise Conflict(gettext("This person is deactivated: no PIN is issued."), code="inactive")
    pin = f"{secrets.randbelow(10**ISSUED_PIN_DIGITS):0{ISSUED_PIN_DIGITS}d}"
    user_set_pin(user=person, pin=pin, by=by, reason=reason)
    return pin


@transaction.atomic
def person_deactivate(*, person: User, by: User, reason: str) -> User:
    """Deactivate a person who leaves: no sign-in of any kind from now (their sessions and API
    token stop working with their next request); their records and history stay. Nobody
    deactivates themselves."""
    _require_manageable(by, person)
    reason = _reason(reason, ask=gettext("Say why the person is deactivated."))
    person = User.objects.select_for_update().get(pk=person.pk)
    if person.pk == by.pk:
        raise Conflict(gettext("You can't deactivate yourself."), code="self")
    if not person.is_active:
        raise Conflict(gettext("This person is already deactivated."), code="already_inactive")
    person.is_active = False
    _say(person, by=by, reason=reason)
    person.save(update_fields=["is_active"])
    return person


def person_change_own_pin(
    *, user: User, old_pin: str, new_pin: str, new_pin_again: str, request=None, tablet: Tablet | None = None
) -> None:
    """The signed-in person changes their own PIN, giving the current one and the new one twice.

    Not atomic as a whole, on purpose: the current PIN is checked like a badge sign-in, counted in
    the same throttle and attempt log before the check (a tablet left signed in is no place to
    guess a PIN), and a wrong one stays counted though the change is refused. The new PIN is
    then saved in one transaction, under the PIN rule of `user_set_pin`.
    """
    if not user.badge_number:
        raise Conflict(
            gettext("You have no badge: ask a supervisor for one."), field="old_pin", code="no_badge"
        )
    if not old_pin:
        raise ValidationFailed(gettext("Enter your current PIN."), field="old_pin", code="required")
    if not new_pin:
        raise ValidationFailed(gettext("Enter a new PIN."), field="new_pin", code="required")
    if new_pin != new_pin_again:
        raise ValidationFailed(
            gettext("The two new PINs are not the same. Type the new PIN twice."),
            field="new_pin_again",
            code="mismatch",
        )
    reservation = throttle.reserve(
        kind=SignInAttempt.Kind.BADGE,
        identifier=user.badge_number,
        scope=Scope.BADGE,
        request=request,
        tablet=tablet,
    )
    if not user.check_pin(old_pin):
        throttle.record_failure(reservation, user=user)
        raise ValidationFailed(
            gettext("Your current PIN is not right."), field="old_pin", code="wrong_credentials"
        )
    throttle.record_success(reservation, user=user)
    if new_pin == old_pin:
        raise ValidationFailed(
            gettext("Choose a new PIN, not the current one."), field="new_pin", code="same_pin"
        )
    try:
        user_set_pin(user=user, pin=new_pin, by=user, reason=gettext_noop("PIN changed by its holder"))
    except ValidationFailed as exc:
        if exc.field != "pin":
            raise
        raise ValidationFailed(exc.message, field="new_pin", code=exc.code) from None


@transaction.atomic
def person_set_own_language(*, user: User, language: str) -> bool:
    """The signed-in person chooses the language the screens speak to them (blank: the browser's
    or the site's). Refused at `language` when it is not one offered; returns whether it changed.
    The history says who and that they chose it themselves, as a changed PIN does."""
    language = (language or "").strip()
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationFailed(
            gettext("Choose a language from the list."), field="language", code="unknown_language"
        )
    person = User.objects.select_for_update().get(pk=user.pk)
    if person.language == language:
        return False
    person.language = language
    _say(person, by=user, reason=gettext_noop("Language chosen by the person"))
    _save(person, update_fields=["language"])
    user.language = language
    return True
