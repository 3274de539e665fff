"""The auditor's audit trail: the selector other features build on, the page, the API, and
the reason a desk edit records."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mes import roles
from mes.errors import ValidationFailed
from mes.models import Tablet
from mes.seal import seal_audit_trail
from mes.services import tablet_bind, tablet_revoke
from traceability.audit import AuditFilter, audit_count, audit_entries, audited_models
from workorders.models import WorkOrder
from workorders.tests.factories import released_order


@pytest.fixture
def auditor(make_user):
    return make_user(roles.AUDITOR, username="aud")


@pytest.fixture
def admin(make_user):
    return make_user(roles.ADMIN, username="ada")


@pytest.fixture
def revoked_tablet(workstation, supervisor):
    tablet = tablet_bind(workstation=workstation, name="Tablet 7", by=supervisor)
    return tablet_revoke(tablet=tablet, by=supervisor, reason="Screen cracked")


# --- the selector --------------------------------------------------------------------------------


@pytest.mark.requirement("P11-11.10e", "A11-9")
@pytest.mark.django_db
def test_entries_come_newest_first_with_who_why_and_a_field_diff(revoked_tablet, supervisor):
    entries = audit_entries(AuditFilter(model="mes.tablet", record=revoked_tablet.pk).clean())

    assert [e.history_type for e in entries] == ["~", "+"]
    changed, created = entries
    assert (changed.model, changed.record_id, changed.user, changed.reason) == (
        "mes.tablet",
        revoked_tablet.pk,
        "sam",
        "Screen cracked",
    )
    assert changed.verbose_name == "Tablet" and changed.action == "changed"
    diff = {c.name: (c.field, c.old, c.new) for c in changed.changes}
    assert set(diff) == {"revoked_at", "revoked_by"}
    assert diff["revoked_by"] == ("Revoked by", "", "sam")
    assert created.reason == "Tablet bound to CNC1"
    assert {c.name for c in created.changes} >= {"name", "workstation", "bound_by"}
    assert changed.when >= created.when


@pytest.mark.django_db
def test_a_record_is_found_by_its_natural_key_even_when_its_code_changed(supervisor, workstation):
    order = released_order(user=supervisor, workstations=[workstation], number="WO-4711")

    by_number = audit_entries(AuditFilter(model="workorders.WorkOrder", record="WO-4711"))
    by_id = audit_entries(AuditFilter(model="workorders.workorder", record=str(order.pk)))

    assert [e.history_id for e in by_number] == [e.history_id for e in by_id]
    assert by_number[0].record == "WO-4711"
    assert {e.reason for e in by_number} >= {"Created by sam"}
    status = [c for e in by_number for c in e.changes if c.name == "status" and e.history_type == "~"]
    assert ("Draft", "Released") in {(c.old, c.new) for c in status}


@pytest.mark.django_db
def test_filter_by_user_and_period_pages_newest_first(make_user, workstation, supervisor):
    other = make_user(roles.SUPERVISOR, username="sue")
    for i in range(5):
        tablet_bind(workstation=workstation, name=f"Tab {i}", by=supervisor)
    tablet_bind(workstation=workstation, name="Sue's", by=other)
    now = timezone.now()

    mine = AuditFilter(model="mes.tablet", user="sam", start=now - dt.timedelta(hours=1), end=now).clean()
    assert audit_count(mine) == 5
    first, second, rest = (
        audit_entries(mine, limit=2),
        audit_entries(mine, limit=2, offset=2),
        audit_entries(mine, limit=10, offset=4),
    )
    names = [e.record for e in first + second + rest]
    assert len(names) == 5 and len(rest) == 1
    times = [e.when for e in first + second + rest]
    assert times == sorted(times, reverse=True)
    assert audit_entries(AuditFilter(model="mes.tablet", user="sue"))[0].user == "sue"
    assert audit_entries(AuditFilter(model="mes.tablet", end=now - dt.timedelta(days=1))) == []


@pytest.mark.django_db
def test_the_page_of_entries_costs_a_fixed_number_of_queries(workstation, supervisor):
    for i in range(3):
        tablet_bind(workstation=workstation, name=f"Tab {i}", by=supervisor)
    flt = AuditFilter(model="mes.tablet").clean()
    with CaptureQueriesContext(connection) as few:
        audit_entries(flt, limit=50)
    for i in range(20):
        tablet_bind(workstation=workstation, name=f"More {i}", by=supervisor)
    with CaptureQueriesContext(connection) as many:
        assert len(audit_entries(flt, limit=50)) == 23
    assert len(many) == len(few)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "field", "code"),
    [
        ({"model": "workorders.nothing"}, "model", "unknown_model"),
        ({"record": "WO-1"}, "model", "model_required"),
        ({"model": "workorders.workorder", "record": "WO-none"}, "record", "unknown_record"),
        ({"user": "nobody"}, "user", "unknown_user"),
        ({"start": "yesterday"}, "start", "invalid_time"),
        ({"start": "2026-05-02", "end": "2026-05-01"}, "end", "impossible_range"),
    ],
)
def test_bad_filters_are_refused_with_the_field_and_a_code(kwargs, field, code):
    with pytest.raises(ValidationFailed) as refused:
        AuditFilter(**kwargs).clean()
    assert (refused.value.field, refused.value.code) == (field, code)


@pytest.mark.django_db
def test_an_end_date_includes_its_whole_day():
    flt = AuditFilter(start="2026-05-01", end="2026-05-01").clean()
    assert flt.end - flt.start == dt.timedelta(days=1) - dt.timedelta(microseconds=1)


def test_the_audited_models_include_the_regulated_ones():
    assert {"workorders.lot", "workorders.workorder", "mes.signature", "mes.user", "quality.hold"} <= set(
        audited_models()
    )


@pytest.mark.django_db
def test_a_change_of_role_shows_the_groups_before_and_after(make_user, admin):
    person = make_user(roles.OPERATOR, username="otto")
    from django.contrib.auth.models import Group

    person._history_user = admin
    person._change_reason = "Now leads the shift"
    person.groups.add(Group.objects.get(name=roles.SUPERVISOR))

    latest = audit_entries(AuditFilter(model="mes.user", record="otto"), limit=1)[0]
    assert latest.reason == "Now leads the shift" and latest.user == "ada"
    assert [(c.field, c.old, c.new) for c in latest.changes if c.name == "groups"] == [
        ("Groups", "operator", "operator, supervisor")
    ]


# --- the page ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_auditor_filters_the_trail_and_reads_a_records_diff_with_its_seal(
    client_for, auditor, revoked_tablet
):
    seal = seal_audit_trail()[-1]
    client = client_for(auditor)

    page = client.get("/audit/", {"model": "mes.tablet", "user": "sam"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Screen cracked" in text and "Tablet 7" in text
    assert "Audit trail" in text  # the navigation entry

    record = client.get(f"/audit/mes.tablet/{revoked_tablet.pk}/")
    body = record.content.decode()
    assert record.status_code == 200
    assert "Revoked by" in body and "Screen cracked" in body and f"<td>{seal.number}</td>" in body


@pytest.mark.django_db
def test_an_impossible_range_is_a_clear_400_not_a_500(client_for, auditor):
    page = client_for(auditor).get("/audit/", {"start": "2026-05-02T10:00", "end": "2026-05-01T10:00"})
    assert page.status_code == 400
    assert "The period ends before it starts" in page.content.decode()
    unknown = client_for(auditor).get("/audit/", {"model": "mes.nothing"})
    assert unknown.status_code == 400


@pytest.mark.django_db
def test_the_auditor_reads_but_cannot_seal_or_edit_and_operators_see_no_trail(
    client_for, auditor, admin, operator, revoked_tablet, workstation, supervisor
):
    client = client_for(auditor)
    assert "Seal now" not in client.get("/audit/").content.decode()
    assert client.post("/audit/seal/").status_code == 403
    assert client_for(admin).post("/audit/seal/").status_code == 302
    assert seal_audit_trail() == []  # the admin's button sealed everything

    tablet = tablet_bind(workstation=workstation, name="Tablet 8", by=supervisor)
    assert client.post(f"/tablets/{tablet.pk}/unbind/", {"reason": "x"}).status_code == 403
    order = released_order(user=supervisor, workstations=[workstation])
    refused = client.post(
        f"/board/orders/{order.pk}/transition/",
        {
            "status": "cancelled",
            "reason": "x",
            "idempotency_key": str(uuid.uuid4()),
            "version": order.version,
        },
    )
    assert refused.status_code == 403
    assert Tablet.objects.get(pk=tablet.pk).revoked_at is None

    assert client_for(operator).get("/audit/").status_code == 403


@pytest.mark.django_db
def test_a_reason_typed_on_the_board_lands_in_the_history(client_for, supervisor, workstation):
    order = released_order(user=supervisor, workstations=[workstation])
    board = client_for(supervisor)

    response = board.post(
        f"/board/orders/{order.pk}/transition/",
        {
            "status": "cancelled",
            "reason": "Customer withdrew",
            "idempotency_key": str(uuid.uuid4()),
            "version": order.version,
        },
    )
    assert response.status_code == 200
    latest = WorkOrder.history.filter(id=order.pk).order_by("-history_id").first()
    assert (latest.history_user, latest.history_change_reason) == (supervisor, "Customer withdrew")


@pytest.mark.django_db
def test_a_reason_typed_on_the_tablets_page_lands_in_the_history(client_for, supervisor, workstation):
    tablet = tablet_bind(workstation=workstation, name="Tablet 9", by=supervisor)
    client_for(supervisor).post(f"/tablets/{tablet.pk}/unbind/", {"reason": "Battery swollen"})
    entry = audit_entries(AuditFilter(model="mes.tablet", record=tablet.pk), limit=1)[0]
    assert (entry.user, entry.reason) == ("sam", "Battery swollen")


# --- the API ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_lists_pages_and_refuses_a_bad_range_in_the_error_format(client_for, auditor, revoked_tablet):
    client = client_for(auditor)
    first = client.get("/api/v1/audit/", {"model": "mes.tablet", "limit": 1}).json()
    assert first["results"][0]["reason"] == "Screen cracked"
    assert first["results"][0]["history_type"] == "~"
    assert first["next"] and first["previous"] is None
    second = client.get(first["next"]).json()
    assert second["results"][0]["history_type"] == "+" and second["next"] is None

    bad = client.get("/api/v1/audit/", {"start": "2026-05-02", "end": "2026-05-01"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "impossible_range" and "end" in bad.json()["errors"]


@pytest.mark.django_db
def test_the_api_seals_for_those_allowed_and_verifies(client_for, admin, operator, revoked_tablet):
    assert client_for(operator).post("/api/v1/audit/seal/").status_code == 403
    sealed = client_for(admin).post("/api/v1/audit/seal/")
    assert sealed.status_code == 201 and sealed.json()["sealed_rows"] > 0
    verify = client_for(admin).get("/api/v1/audit/verify/").json()
    assert verify["ok"] is True and verify["seals"] == 1 and verify["problem"] is None
