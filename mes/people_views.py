"""The people desk (list, create, change, issue a PIN, deactivate) and the tablet's "Change my PIN".

Each action parses its form (`mes.people_forms`) and calls one service (`mes.people_services`).
A refusal answers with its status and shows the page again with the reason at its field and what
was typed. A person outside what the signed-in person manages is not found (404), as a record of
another site is everywhere else.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from mes import navigation, people_selectors, people_services, tablets
from mes.errors import MesError
from mes.forms import refusal, refuse
from mes.people_forms import ChangeOwnPinForm, PeopleFilterForm, PersonForm, ReasonForm
from mes.permissions import permission_required

MANAGE = "mes.change_user"
CREATE = "mes.add_user"


def _managed(request, pk: int):
    return get_object_or_404(people_selectors.people_managed_by(request.user), pk=pk)


@require_safe
@permission_required(MANAGE)
def person_list(request):
    filters = PeopleFilterForm(request.GET, user=request.user)
    people = people_selectors.people_list(request.user, **filters.filters())
    context = {"people": people, "filters": filters, "may_create": request.user.has_perm(CREATE)}
    return render(request, "mes/people/list.html", context)


def _form_page(request, form: PersonForm, *, error: MesError | None = None, pin_error: bool = False):
    """The person's page; `pin_error`: the refusal is of the PIN issued from it, shown there."""
    context = {"form": form, "person": form.person, "error": error, "pin_error": pin_error}
    if form.person is not None:
        context["pin_form"] = ReasonForm()
    return render(request, "mes/people/form.html", context, status=error.status_code if error else 200)


@permission_required(MANAGE, CREATE)
def person_create(request):
    if request.method != "POST":
        return _form_page(request, PersonForm(user=request.user))
    form = PersonForm(request.POST, user=request.user)
    if not form.is_valid():
        return _form_page(request, form, error=refusal(form))
    try:
        person = people_services.person_create(
            by=request.user,
            username=form.cleaned_data["username"],
            reason=form.cleaned_data["reason"],
            **form.details(),
        )
    except MesError as exc:
        refuse(form, exc)
        return _form_page(request, form, error=exc)
    messages.success(
        request,
        gettext("%(printed_name)s was created. Issue a PIN for their badge sign-in.")
        % {"printed_name": person.printed_name},
    )
    return redirect("person_edit", pk=person.pk)


@permission_required(MANAGE)
def person_edit(request, pk: int):
    person = _managed(request, pk)
    if request.method != "POST":
        return _form_page(request, PersonForm(user=request.user, person=person))
    form = PersonForm(request.POST, user=request.user, person=person)
    if not form.is_valid():
        return _form_page(request, form, error=refusal(form))
    try:
        changed = people_services.person_update(
            person=person, by=request.user, reason=form.cleaned_data["reason"], **form.details()
        )
    except MesError as exc:
        refuse(form, exc)
        return _form_page(request, form, error=exc)
    if changed:
        messages.success(
            request,
            gettext("%(name)s: %(fields)s changed.")
            % {"name": person.printed_name, "fields": ", ".join(changed)},
        )
    else:
        messages.info(request, gettext("Nothing was changed."))
    return redirect("person_list")


@never_cache
@require_POST
@permission_required(MANAGE)
def person_issue_pin(request, pk: int):
    """Issue a new PIN and show it, this once: the page is not cached (`never_cache`: no-store) and
    the PIN is stored hashed."""
    person = _managed(request, pk)
    form = ReasonForm(request.POST)
    error = None if form.is_valid() else refusal(form)
    if error is None:
        try:
            pin = people_services.person_issue_pin(
                person=person, by=request.user, reason=form.cleaned_data["reason"]
            )
        except MesError as exc:
            error = exc
    if error is not None:
        return _form_page(request, PersonForm(user=request.user, person=person), error=error, pin_error=True)
    return render(request, "mes/people/pin_issued.html", {"person": person, "pin": pin})


@permission_required(MANAGE)
def person_deactivate(request, pk: int):
    person = _managed(request, pk)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    error = None
    if request.method == "POST":
        error = None if form.is_valid() else refusal(form)
        if error is None:
            try:
                people_services.person_deactivate(
                    person=person, by=request.user, reason=form.cleaned_data["reason"]
                )
            except MesError as exc:
                refuse(form, exc)
                error = exc
        if error is None:
            messages.success(
                request, gettext("%(printed_name)s is deactivated.") % {"printed_name": person.printed_name}
            )
            return redirect("person_list")
    context = {"person": person, "form": form, "error": error}
    return render(request, "mes/people/deactivate.html", context, status=error.status_code if error else 200)


@never_cache
@permission_required("mes.use_tablet")
@tablets.on_bound_tablet
def tablet_change_pin(request, workstation):
    """The signed-in person changes their own PIN at the tablet: the current one, the new one twice."""
    form = ChangeOwnPinForm(request.POST if request.method == "POST" else None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            people_services.person_change_own_pin(
                user=request.user,
                old_pin=form.cleaned_data["old_pin"],
                new_pin=form.cleaned_data["new_pin"],
                new_pin_again=form.cleaned_data["new_pin_again"],
                request=request,
                tablet=tablets.bound_tablet(request),
            )
        except MesError as exc:
            refuse(form, exc)
            error = exc
        else:
            messages.success(request, gettext("Your PIN is changed. Use the new one from your next sign-in."))
            return redirect(navigation.tablet_home())
    elif request.method == "POST":
        error = refusal(form)
    context = {"workstation": workstation, "form": form, "error": error, "home": navigation.tablet_home()}
    return render(request, "mes/people/tablet_pin.html", context, status=error.status_code if error else 200)


urlpatterns = [
    path("people/", person_list, name="person_list"),
    path("people/new/", person_create, name="person_create"),
    path("people/<int:pk>/", person_edit, name="person_edit"),
    path("people/<int:pk>/pin/", person_issue_pin, name="person_issue_pin"),
    path("people/<int:pk>/deactivate/", person_deactivate, name="person_deactivate"),
    path("tablet/pin/", tablet_change_pin, name="tablet_change_pin"),
]
