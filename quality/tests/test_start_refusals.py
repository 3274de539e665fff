"""A Start refused by a training guard (qualification, SOP not read) is kept as a row, though the
start itself rolls back, and supervisors see the latest ones of their sites."""

import uuid
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mes import roles
from mes.errors import Conflict, ValidationFailed
from mes.seal.tables import append_only_models
from mes.tests.factories import SiteFactory, WorkstationFactory, signed_in
from quality import services
from quality.models import StartRefusal
from quality.services.qualifications import qualification_grant
from quality.services.refusals import start_refusal_record
from quality.tests.conftest import PASSWORD
from workorders import services as production
from workorders.models import ProductionEvent
from workorders.tests.factories import released_order

EVENTS = "/workstation/events/"
PAGE = "/quality/sops/unread/"


@pytest.fixture
def tablet(supervisor, client_for, workstation, operator):
    tablet = client_for(supervisor)
    assert tablet.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet 1"}).status_code == 302
    tablet.post("/logout/")
    signed_in(tablet, operator, on_tablet=True)
    return tablet


@pytest.fixture
def op(supervisor, workstation):
    return released_order(
        user=supervisor, workstations=[workstation], quantity=10, number="WO-7001"
    ).operations.get()


def _start(tablet, op, key=None):
    key = key or uuid.uuid4()
    return tablet.post(EVENTS, {"kind": "start", "idempotency_key": str(key), "operation": op.pk})


def _qualify_someone_else(quality_user, workstation):
    """The workstation now asks for a qualification, which the operator does not have."""
    qualification_grant(
        user=quality_user,
        person_id=quality_user.pk,
        workstation_id=workstation.pk,
        valid_until=timezone.localdate() + timedelta(days=30),
        password=PASSWORD,
    )


def _attach_effective_sop(quality_user, site, op):
    version = services.sop_create(
        site=site, code="SOP-7", title="Clamping", body="Clamp it.", user=quality_user
    )
    services.sop_version_submit(version_id=version.pk, user=quality_user)
    services.sop_version_approve(version_id=version.pk, user=quality_user, password=PASSWORD)
    version = services.sop_version_make_effective(version_id=version.pk, user=quality_user)
    services.operation_sop_attach(
        routing_operation=op.routing_operation, document=version.document, user=quality_user
    )
    return version


@pytest.mark.requirement("P11-11.10e")
def test_a_start_refused_for_want_of_a_qualification_is_kept_with_who_where_when_and_why(
    tablet, op, operator, quality_user, workstation
):
    _qualify_someone_else(quality_user, workstation)
    before = timezone.now()
    key = uuid.uuid4()
    response = _start(tablet, op, key)
    assert response.status_code == 409
    assert not ProductionEvent.objects.filter(operation=op).exists()  # the start rolled back
    (refusal,) = StartRefusal.objects.all()
    assert refusal.user == operator
    assert (refusal.workstation, refusal.work_order, refusal.operation) == (workstation, op.work_order, op)
    assert refusal.guard == StartRefusal.Guard.QUALIFICATION
    assert refusal.code == "not_qualified"
    assert (
        refusal.message == response.json()["detail"] == "You are not qualified on CNC1 — ask your supervisor."
    )
    assert refusal.idempotency_key == key
    assert before <= refusal.refused_at <= timezone.now()


def test_a_resent_refused_tap_is_one_refusal_and_each_new_tap_another(tablet, op, quality_user, site):
    _attach_effective_sop(quality_user, site, op)
    key = uuid.uuid4()
    assert _start(tablet, op, key).status_code == 409
    assert _start(tablet, op, key).status_code == 409  # the answer was lost; the tablet resends
    assert StartRefusal.objects.count() == 1
    assert _start(tablet, op).status_code == 409  # a new tap
    assert list(StartRefusal.objects.values_list("guard", "code")) == [("sop", "sop_not_acknowledged")] * 2


def test_the_service_keeps_the_refusal_whichever_edge_calls_it(op, operator, quality_user, site, workstation):
    """The API and the machine ingestor call the same service: the refusal is kept there."""
    version = _attach_effective_sop(quality_user, site, op)
    with pytest.raises(Conflict) as refused:
        production.operation_start(
            operation_id=op.pk, workstation=workstation, user=operator, key=uuid.uuid4()
        )
    assert refused.value.code == "sop_not_acknowledged"
    refusal = StartRefusal.objects.get()
    assert (
        refusal.message == f"Read SOP {version.document.code} (Clamping) and acknowledge it before starting."
    )


def test_other_refusals_of_start_are_not_training_refusals_and_keep_nothing(
    tablet, op, quality_user, supervisor, workstation, template
):
    services.operation_checklist_attach(
        routing_operation=op.routing_operation, template=template, trigger="at_start", user=quality_user
    )
    response = _start(tablet, op)  # refused by the checklist interlock, another quality guard
    assert response.status_code == 409 and response.json()["code"] == "checklist_missing"
    other = WorkstationFactory(line=workstation.line, code="CNC9")
    with pytest.raises(ValidationFailed):  # refused at the workstation, before any guard ran
        production.operation_start(operation_id=op.pk, workstation=other, user=supervisor, key=uuid.uuid4())
    assert not StartRefusal.objects.exists()


def test_a_start_inside_a_callers_transaction_keeps_its_refusal_when_the_caller_commits(
    op, operator, quality_user, workstation
):
    _qualify_someone_else(quality_user, workstation)
    with transaction.atomic(), pytest.raises(Conflict):
        production.operation_start(
            operation_id=op.pk, workstation=workstation, user=operator, key=uuid.uuid4()
        )
    assert StartRefusal.objects.count() == 1


def test_supervisors_see_the_latest_refused_starts_of_their_sites_only(
    tablet, op, client_for, make_user, operator, quality_user, supervisor, workstation
):
    _qualify_someone_else(quality_user, workstation)
    _start(tablet, op)
    far = SiteFactory(code="FAR")
    far_station = WorkstationFactory(line__site=far, code="FAR1")
    far_person = make_user(roles.OPERATOR, username="fred", site=far)
    far_op = released_order(
        user=supervisor, workstations=[far_station], quantity=1, number="WO-9009"
    ).operations.get()
    start_refusal_record(
        user=far_person,
        workstation=far_station,
        operation_id=far_op.pk,
        key=uuid.uuid4(),
        guard="qualification",
        code="not_qualified",
        message="You are not qualified on FAR1 — ask your supervisor.",
    )

    page = client_for(supervisor).get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Refused starts" in html
    assert "You are not qualified on CNC1" in html and operator.printed_name in html and "WO-7001" in html
    assert "FAR1" not in html and "WO-9009" not in html

    everywhere = make_user(roles.ADMIN, username="ada")
    assert "FAR1" in client_for(everywhere).get(PAGE).content.decode()
    assert client_for(operator).get(PAGE).status_code == 403


def test_the_refusals_section_reads_in_a_fixed_number_of_queries(
    tablet, op, client_for, supervisor, quality_user, workstation
):
    _qualify_someone_else(quality_user, workstation)
    desk = client_for(supervisor)
    desk.get(PAGE)
    with CaptureQueriesContext(connection) as none_yet:
        desk.get(PAGE)
    for _ in range(5):
        _start(tablet, op)
    with CaptureQueriesContext(connection) as five:
        assert desk.get(PAGE).content.decode().count("data-refusal=") == 5
    assert len(five.captured_queries) == len(none_yet.captured_queries)


def test_a_refusal_is_its_own_history_sealed_directly():
    assert append_only_models()[StartRefusal._meta.db_table] is StartRefusal


@pytest.mark.postgres
def test_on_postgresql_a_refusal_can_be_neither_changed_nor_deleted(tablet, op, quality_user, workstation):
    _qualify_someone_else(quality_user, workstation)
    _start(tablet, op)
    refusal = StartRefusal.objects.get()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        StartRefusal.objects.filter(pk=refusal.pk).update(message="nothing happened")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        StartRefusal.objects.filter(pk=refusal.pk).delete()
