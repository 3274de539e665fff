"""An idempotency key belongs to the person who first sent it: a retry by them replays the first
event, the key in anyone else's request is refused with a 409 naming `idempotency_key`. A retry
is recognised by its values, so a quantity sent as "1.0", "1" or 1 is the same request."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from mes.errors import Conflict
from mes.tests.factories import WorkstationFactory
from mes.tests.threads import run_in_threads
from workorders import services
from workorders.models import ProductionEvent
from workorders.services.machine import machine_user
from workorders.tests.factories import key, released_order


@pytest.fixture
def station(site):
    return WorkstationFactory(line__site=site, code="CNC1")


@pytest.fixture
def operation(supervisor, operator, station):
    order = released_order(user=supervisor, workstations=[station], quantity=10)
    op = order.operations.get()
    services.operation_start(operation_id=op.pk, workstation=station, user=operator, key=key())
    return op


def api_as(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def completion(operation, tap, quantity="3") -> dict:
    return {
        "idempotency_key": str(tap),
        "kind": "good",
        "workstation": operation.workstation_id,
        "operation": operation.pk,
        "quantity": quantity,
    }


@pytest.mark.requirement("MES-001")
def test_another_persons_key_is_refused_and_their_event_stays_theirs(operator, supervisor, operation):
    tap = key()
    first = api_as(operator).post("/api/v1/events/", completion(operation, tap), format="json")
    assert first.status_code == 201
    events = ProductionEvent.objects.count()

    resent = api_as(supervisor).post("/api/v1/events/", completion(operation, tap), format="json")

    assert resent.status_code == 409, resent.content
    body = resent.json()
    assert body["code"] == "key_of_another" and list(body["errors"]) == ["idempotency_key"]
    assert "another person" in body["detail"] and str(first.json()["id"]) not in resent.content.decode()
    assert ProductionEvent.objects.count() == events
    operation.refresh_from_db()
    assert operation.quantity_good == 3
    # The operator's own retry still gets their event back.
    again = api_as(operator).post("/api/v1/events/", completion(operation, tap), format="json")
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])


def test_a_quantity_is_compared_as_a_number(operator, operation):
    api, tap = api_as(operator), key()

    first = api.post("/api/v1/events/", completion(operation, tap, "1.0"), format="json")
    as_text = api.post("/api/v1/events/", completion(operation, tap, " 1 "), format="json")
    as_number = api.post("/api/v1/events/", completion(operation, tap, 1), format="json")
    other = api.post("/api/v1/events/", completion(operation, tap, "2"), format="json")

    assert first.status_code == 201
    assert (as_text.status_code, as_number.status_code) == (200, 200)
    assert as_text.json()["id"] == as_number.json()["id"] == first.json()["id"]
    assert other.status_code == 409 and other.json()["code"] == "key_reused"
    operation.refresh_from_db()
    assert operation.quantity_good == 1


def test_a_machines_keys_are_its_own(operator, operation):
    """Machine counts are recorded by the machine account; a person sending its key is refused."""
    machine, tap = machine_user(), key()
    args = {"operation_id": operation.pk, "workstation": operation.workstation, "quantity": 2, "key": tap}
    counted = services.operation_record_good(user=machine, **args)
    assert services.operation_record_good(user=machine, **args).event == counted.event

    with pytest.raises(Conflict) as refused:
        services.operation_record_good(user=operator, **args)

    assert (refused.value.field, refused.value.code) == ("idempotency_key", "key_of_another")
    operation.refresh_from_db()
    assert operation.quantity_good == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_racing_with_one_key_count_once_and_the_loser_is_refused(make_user, site):
    from mes import roles

    supervisor = make_user(roles.SUPERVISOR, username="sam")
    people = [make_user(roles.OPERATOR, username=f"op{i}") for i in range(2)]
    station = WorkstationFactory(line__site=site, code="CNC1")
    order = released_order(user=supervisor, workstations=[station], quantity=10)
    op = order.operations.get()
    services.operation_start(operation_id=op.pk, workstation=station, user=people[0], key=key())
    tap = key()
    outcomes: dict[int, object] = {}

    def send(i: int) -> None:
        try:
            outcomes[i] = services.operation_record_good(
                operation_id=op.pk, workstation=station, user=people[i], quantity="1", key=tap
            )
        except Conflict as exc:
            outcomes[i] = exc

    run_in_threads(send, 2)

    refused = [o for o in outcomes.values() if isinstance(o, Conflict)]
    recorded = [o for o in outcomes.values() if not isinstance(o, Conflict)]
    assert len(refused) == 1 and refused[0].code == "key_of_another"
    assert len(recorded) == 1 and not recorded[0].replayed
    op.refresh_from_db()
    assert op.quantity_good == Decimal(1)
    assert ProductionEvent.objects.filter(idempotency_key=tap).count() == 1
