"""What a production request does around its transaction: the answer it gives back, and the
decision that the person may act at the workstation, which is kept until access changes."""

import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mes.tests.factories import LineFactory, SiteFactory, WorkstationFactory
from workorders import services
from workorders.api.serializers import EventSerializer
from workorders.models import ProductionEvent
from workorders.states import ReasonKind
from workorders.tests.factories import ReasonCodeFactory, key, released_order


@pytest.fixture
def shared_cache(settings, tmp_path):
    """A cache every process shares (the file cache here, Redis in production)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }


@pytest.fixture
def station(site):
    return WorkstationFactory(line__site=site, code="CNC1")


@pytest.fixture
def running(supervisor, operator, station):
    order = released_order(user=supervisor, workstations=[station], quantity=1000)
    op = order.operations.get()
    services.operation_start(operation_id=op.pk, workstation=station, user=operator, key=key())
    return op


def _post(client, op, **fields):
    body = {
        "idempotency_key": str(uuid.uuid4()),
        "kind": "good",
        "workstation": op.workstation_id,
        "operation": op.pk,
        "quantity": "1",
        **fields,
    }
    return client.post("/api/v1/events/", json.dumps(body), content_type="application/json")


def _workstation_reads(queries) -> int:
    return sum('FROM "mes_workstation"' in q["sql"] for q in queries.captured_queries)


@pytest.mark.django_db
def test_the_answer_to_a_production_request_is_drf_rendering_of_the_event(client_for, operator, running):
    client = client_for(operator)
    ReasonCodeFactory(code="BURR", kind=ReasonKind.SCRAP)
    good = _post(client, running, quantity="2")
    scrap = _post(client, running, kind="scrap", quantity="1", reason="BURR", note="burr on edge")
    assert (good.status_code, scrap.status_code) == (201, 201)

    for answer in (good.json(), scrap.json()):
        event = ProductionEvent.objects.select_related("reason").get(pk=answer["id"])
        generic = json.loads(json.dumps(EventSerializer().represent_generically(event)))
        assert answer == generic
    assert good.json()["quantity"] == "2.000" and good.json()["reason"] is None
    assert scrap.json()["reason"] == "BURR" and scrap.json()["occurred_at"].endswith("Z")


@pytest.mark.django_db
def test_the_workstation_decision_is_kept_until_the_persons_sites_change(
    shared_cache, client_for, operator, running, site
):
    client = client_for(operator)
    assert _post(client, running).status_code == 201
    with CaptureQueriesContext(connection) as queries:
        assert _post(client, running).status_code == 201
    assert _workstation_reads(queries) == 0

    operator.sites.remove(site)
    refused = _post(client, running)
    assert refused.status_code == 400 and "workstation" in refused.json()["errors"]

    operator.sites.add(site)
    assert _post(client, running).status_code == 201
    running.refresh_from_db()
    assert running.quantity_good == 3


@pytest.mark.django_db
def test_a_workstation_moved_to_another_sites_line_is_refused_from_the_next_request(
    shared_cache, client_for, operator, running, station
):
    client = client_for(operator)
    assert _post(client, running).status_code == 201
    assert _post(client, running).status_code == 201

    station.line = LineFactory(site=SiteFactory(code="FAR"))
    station.save()

    refused = _post(client, running)
    assert refused.status_code == 400 and "workstation" in refused.json()["errors"]
    running.refresh_from_db()
    assert running.quantity_good == 2
