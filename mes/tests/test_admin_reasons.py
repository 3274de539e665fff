"""Edits in the Django admin carry a reason: the change form asks for it and refuses to save
without it; with it, the history rows say who and why."""

import pytest
from django.contrib import admin
from django.urls import reverse

from mes import roles
from mes.admin_reasons import REASON_FIELD, ChangeReasonMixin
from mes.models import Line, Shift
from mes.tests.factories import LineFactory, SiteFactory, UserFactory
from workorders.models import ReasonCode
from workorders.tests.factories import ReasonCodeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(role=roles.ADMIN, is_superuser=True))
    return client


def _fields(form) -> dict:
    """What the browser would send back for `form` as the page rendered it."""
    data = {}
    for field in form:
        value = field.value()
        if value is None or value is False:
            continue
        data[field.html_name] = "on" if value is True else value
    return data


def _page_data(response) -> dict:
    data = _fields(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        data |= _fields(inline.formset.management_form)
        for form in inline.formset.forms:
            data |= _fields(form)
    return data


def _history_count(model) -> int:
    return model.history.count()


@pytest.mark.requirement("A11-9")
def test_every_admin_of_a_record_with_history_asks_for_a_reason_or_writes_nothing(rf):
    request = rf.get("/")
    request.user = UserFactory(is_superuser=True, is_staff=True)
    for model, model_admin in admin.site._registry.items():
        if not hasattr(model._meta, "simple_history_manager_attribute"):
            continue
        writes = (
            model_admin.has_add_permission(request),
            model_admin.has_change_permission(request),
            model_admin.has_delete_permission(request),
        )
        assert isinstance(model_admin, ChangeReasonMixin) or not any(writes), model


@pytest.mark.requirement("A11-9", "P11-11.10e")
def test_a_change_without_a_reason_is_refused_with_the_field_named_and_writes_nothing(admin_client):
    code = ReasonCodeFactory(code="JAM", name="Jam")
    url = reverse("admin:workorders_reasoncode_change", args=[code.pk])
    data = _page_data(admin_client.get(url)) | {"name": "Jammed feeder"}
    before = _history_count(ReasonCode)

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert REASON_FIELD in response.context["adminform"].form.errors
    assert b"Reason for the change" in response.content
    code.refresh_from_db()
    assert code.name == "Jam"
    assert _history_count(ReasonCode) == before


@pytest.mark.requirement("A11-9", "P11-11.10e")
def test_a_change_with_a_reason_writes_a_history_row_with_that_reason_and_person(admin_client):
    code = ReasonCodeFactory(code="JAM", name="Jam")
    url = reverse("admin:workorders_reasoncode_change", args=[code.pk])
    data = _page_data(admin_client.get(url)) | {"name": "Jammed feeder", REASON_FIELD: "  Name per SOP-12  "}

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    latest = code.history.latest("history_id")
    assert latest.name == "Jammed feeder"
    assert latest.history_change_reason == "Name per SOP-12"
    assert latest.history_user == response.wsgi_request.user


def test_rows_saved_inline_carry_the_reason_of_the_record(admin_client):
    site = SiteFactory(code="P1")
    LineFactory(site=site, code="L1")
    url = reverse("admin:mes_site_change", args=[site.pk])
    data = _page_data(admin_client.get(url))
    data["lines-0-name"] = "Line one, renamed"
    data[REASON_FIELD] = "Lines renamed for the new layout"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    line = Line.objects.get(site=site, code="L1")
    latest = line.history.latest("history_id")
    assert latest.name == "Line one, renamed"
    assert latest.history_change_reason == "Lines renamed for the new layout"
    assert latest.history_user == response.wsgi_request.user
    assert not Shift.history.filter(site=site).exists()


def test_a_person_added_in_the_admin_carries_the_reason(admin_client):
    url = reverse("admin:mes_user_add")
    page = admin_client.get(url)
    assert REASON_FIELD in page.context["adminform"].form.fields
    data = _page_data(page) | {
        "username": "newcomer",
        "password1": "a-long-pass-word-9",
        "password2": "a-long-pass-word-9",
    }

    refused = admin_client.post(url, data)
    assert refused.status_code == 200
    assert REASON_FIELD in refused.context["adminform"].form.errors

    response = admin_client.post(url, data | {REASON_FIELD: "Joins the night shift"})
    assert response.status_code == 302
    user_model = response.wsgi_request.user.__class__
    assert user_model.history.get(username="newcomer").history_change_reason == "Joins the night shift"
    newcomer = user_model.objects.get(username="newcomer")
    change = admin_client.get(reverse("admin:mes_user_change", args=[newcomer.pk]))
    assert REASON_FIELD in change.context["adminform"].form.fields


def test_deleting_in_the_admin_is_refused(admin_client):
    code = ReasonCodeFactory(code="JAM")
    response = admin_client.get(reverse("admin:workorders_reasoncode_delete", args=[code.pk]))
    assert response.status_code == 403
    assert ReasonCode.objects.filter(pk=code.pk).exists()
