"""Forms of the people desk and of the tablet's "Change my PIN".

They read what was typed and offer only the choices the signed-in person may make (roles and
sites from `mes.people_selectors`); the rules themselves (badge in use, the PIN rule, who may
give what) are the services', whose refusals the views put back on the form at their field.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from mes import people_selectors, roles
from mes.forms import ModelChoiceField, ModelMultipleChoiceField
from mes.models import Site, User

ACTIVE_CHOICES = [("yes", _("Active")), ("no", _("Deactivated")), ("all", _("Everyone"))]


class PeopleFilterForm(forms.Form):
    """The list's filters, from the query string; a value that is no choice is left out."""

    site = ModelChoiceField(queryset=Site.objects.none(), required=False, empty_label=_("Every site"))
    active = forms.ChoiceField(choices=ACTIVE_CHOICES, required=False)

    def __init__(self, params, *, user):
        super().__init__(params)
        self.fields["site"].queryset = people_selectors.sites_grantable_by(user)

    def filters(self) -> dict:
        """The valid filters as `people_list` takes them (active people by default)."""
        self.is_valid()
        values = self.cleaned_data
        active = {"yes": True, "no": False, "all": None}.get(values.get("active") or "yes")
        return {"site": values.get("site"), "active": active}


class PersonForm(forms.Form):
    """A person's details, role and sites, for creating one (with a username) or changing one
    (`person`); `reason`, which the person must give, goes into the history.

    Any role and any site parse here: the page offers only those the signed-in person may give,
    and the service refuses the others naming the field, with the one rule for desk and import.
    """

    username = forms.CharField(max_length=150, required=False)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    badge_number = forms.CharField(max_length=32, required=False)
    # Blank: the browser's language, else the site's.
    language = forms.ChoiceField(
        choices=[("", ""), *settings.LANGUAGES],
        required=False,
        error_messages={"invalid_choice": _("Choose a language from the list.")},
    )
    role = forms.CharField(max_length=32, error_messages={"required": _("Choose a role.")})
    sites = ModelMultipleChoiceField(
        queryset=Site.objects.all(),
        required=False,
        error_messages={
            "invalid_choice": _("Choose sites from the list."),
            "invalid_pk_value": _("Choose sites from the list."),
        },
    )
    all_sites = forms.BooleanField(required=False)
    reason = forms.CharField(max_length=100, required=False)

    def __init__(self, *args, user, person: User | None = None, **kwargs):
        if person is not None and not args and "data" not in kwargs:
            kwargs["initial"] = {
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": person.email,
                "badge_number": person.badge_number or "",
                "language": person.language,
                "role": roles.role_of(person) or "",
                "sites": [site.pk for site in person.sites.all()],
                "all_sites": person.all_sites,
            }
        super().__init__(*args, **kwargs)
        self.person = person
        if person is None:
            self.fields["username"].required = True
            self.fields["username"].error_messages["required"] = _("Enter a username.")
        else:
            del self.fields["username"]
        # What the page offers.
        self.grantable_roles = people_selectors.roles_grantable_by(user)
        self.grantable_sites = people_selectors.sites_grantable_by(user)
        self.may_grant_every_site = people_selectors.may_grant_every_site(user)

    def chosen_sites(self) -> set[str]:
        """The ids of the sites chosen (or, unbound, the person's), as text, to tick the boxes."""
        value = self["sites"].value() or []
        return {str(pk) for pk in value}

    def details(self) -> dict:
        """The cleaned values as the services take them (no username, no reason)."""
        values = {k: v for k, v in self.cleaned_data.items() if k not in ("username", "reason")}
        values["sites"] = list(values["sites"])
        return values


class ReasonForm(forms.Form):
    """A reason for the history: why a PIN is issued or a person deactivated. Required, by the
    service's rule (refused at `reason` when empty), like the reason of `PersonForm`."""

    reason = forms.CharField(max_length=100, required=False)


class ChangeOwnPinForm(forms.Form):
    """The tablet's "Change my PIN": the current PIN, the new one twice. The PIN rule is the
    service's; these only read what was typed."""

    old_pin = forms.CharField(max_length=64, required=False, strip=False, widget=forms.PasswordInput)
    new_pin = forms.CharField(max_length=64, required=False, strip=False, widget=forms.PasswordInput)
    new_pin_again = forms.CharField(max_length=64, required=False, strip=False, widget=forms.PasswordInput)


class OwnLanguageForm(forms.Form):
    """The person's own "My language" (desk and tablet): one of the offered languages, or blank
    for the browser's or the site's."""

    language = forms.ChoiceField(
        choices=[("", ""), *settings.LANGUAGES],
        required=False,
        error_messages={"invalid_choice": _("Choose a language from the list.")},
    )
