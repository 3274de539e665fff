"""The production hot path stays short: what one completion and one no-op request cost the
database and the server, pinned so that it cannot creep back.

A completion through the API reads the person, the workstation, the locked order and operation
(one statement), what quality says about it (one), then appends the event and updates the
projections and the outbox. The ledger is its own history: no history row is written beside an
event, nor for the counters it moves, nor for the outbox message that reports it.
"""

import asyncio
import json
import threading
import uuid

import pytest
from django.db import close_old_connections, connection, transaction
from django.test.utils import CaptureQueriesContext

from mes import roles
from mes.tests.factories import WorkstationFactory
from mes.tests.servers import wait_until
from workorders import services
from workorders.models import ProductionEvent, WorkOrderOperation
from workorders.tests.factories import key, released_order

# Statements of one completion through the API, inside the test's transaction (hence the
# savepoint and its release): the person, the workstation, the lock of order and operation, what
# quality says, the event, the status row read and written, the outbox sequence, the outbox row,
# the operation's and the order's counters.
COMPLETION_STATEMENTS = 13
PING_STATEMENTS = 1  # the person


def _reads_outside_a_shared_cache() -> int:
    """Statements a request adds without Redis (the embedded mode): the session is read from the
    database, and permissions are not kept between requests (see `mes.auth`)."""
    from django.conf import settings

    from mes.auth import _shared_cache

    return (settings.SESSION_ENGINE != "django.contrib.sessions.backends.cached_db") + (not _shared_cache())


@pytest.fixture
def station(site):
    return WorkstationFactory(line__site=site, code="CNC1")


@pytest.fixture
def running(supervisor, operator, station):
    order = released_order(user=supervisor, workstations=[station], quantity=1000)
    op = order.operations.get()
    services.operation_start(operation_id=op.pk, workstation=station, user=operator, key=key())
    return op


def _complete(client, op, quantity="1", idempotency_key=None):
    body = {
        "idempotency_key": str(idempotency_key or uuid.uuid4()),
        "kind": "good",
        "workstation": op.workstation_id,
        "operation": op.pk,
        "quantity": quantity,
    }
    return client.post("/api/v1/events/", json.dumps(body), content_type="application/json")


def _statements(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries]


@pytest.mark.django_db
def test_a_completion_through_the_api_takes_a_fixed_handful_of_statements(client_for, operator, running):
    client = client_for(operator)
    assert _complete(client, running).status_code == 201  # warm: the first request reads more

    with CaptureQueriesContext(connection) as queries:
        assert _complete(client, running, quantity="2").status_code == 201

    sql = _statements(queries)
    assert len(sql) <= COMPLETION_STATEMENTS + _reads_outside_a_shared_cache(), "\n".join(sql)
    inserts = sorted(s.split('"')[1] for s in sql if s.startswith("INSERT"))
    # The ledger row and the outbox row, and no history row.
    assert inserts == ["integration_outboxmessage", "workorders_productionevent"]
    # The order and its operation are read (and locked) by one statement.
    assert sum(s.startswith("SELECT") and '"workorders_workorder"."number"' in s for s in sql) == 1, (
        "\n".join(sql)
    )
    assert (
        sum(s.startswith("SELECT") and '"workorders_workorderoperation"."quantity_good"' in s for s in sql)
        == 1
    )
    running.refresh_from_db()
    assert running.quantity_good == 3
    assert running.work_order.quantity_good == 3


@pytest.mark.django_db
def test_a_retried_completion_replays_and_counts_nothing(client_for, operator, running):
    from integration.models import OutboxMessage

    client = client_for(operator)
    tap = uuid.uuid4()
    first = _complete(client, running, idempotency_key=tap)
    assert first.status_code == 201
    rows = (ProductionEvent.objects.count(), OutboxMessage.objects.count())

    again = _complete(client, running, idempotency_key=tap)

    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert (ProductionEvent.objects.count(), OutboxMessage.objects.count()) == rows
    running.refresh_from_db()
    assert (running.quantity_good, running.work_order.quantity_good) == (1, 1)


@pytest.mark.django_db
def test_the_no_op_request_reads_the_session_and_the_person_only(client_for, operator):
    client = client_for(operator)
    assert client.get("/ping").status_code == 200

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/ping")

    assert response.status_code == 200 and response.content == b"pong"
    sql = _statements(queries)
    from django.conf import settings

    session = settings.SESSION_ENGINE != "django.contrib.sessions.backends.cached_db"
    assert len(sql) <= PING_STATEMENTS + session, "\n".join(sql)
    assert not [s for s in sql if "auth_permission" in s]


@pytest.mark.django_db
def test_with_no_erp_configured_the_nudges_after_commit_ask_for_one_once(
    client_for, operator, running, django_capture_on_commit_callbacks, settings, monkeypatch
):
    """The embedded mode nudges its deliverer after each commit that queued a message; with no
    ERP configured there is nothing to wake, and each tap asking for an endpoint would cost it a
    query. Asked once, the answer holds until an endpoint is saved."""
    from integration import embedded
    from integration.models import ErpEndpoint

    settings.ERP_URL = ""
    client = client_for(operator)
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        for quantity in ("1", "2", "3"):
            assert _complete(client, running, quantity=quantity).status_code == 201
    assert len([s for s in _statements(queries) if "integration_erpendpoint" in s]) <= 1

    woken = []
    monkeypatch.setattr(embedded, "nudge", lambda: woken.append(1) or True)
    ErpEndpoint.objects.create(name="erp", url="https://erp.example/api")
    with django_capture_on_commit_callbacks(execute=True):
        assert _complete(client, running).status_code == 201
    assert woken == [1]


# --- the ASGI server --------------------------------------------------------------------------------


def _asgi_get(app, path: str, cookie: str) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"cookie", cookie.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    messages = []

    async def run():
        body_sent = False
        disconnect = asyncio.Event()

        async def receive():
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await disconnect.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            messages.append(message)

        await app(scope, receive, send)

    asyncio.run(run())
    return messages[0]["status"]


def _hops(app, cookie: str) -> int:
    """How often one request crosses from the event loop to a worker thread."""
    from asgiref.sync import SyncToAsync

    calls = []
    original = SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        calls.append(self.func)
        return await original(self, *args, **kwargs)

    SyncToAsync.__call__ = counted
    try:
        assert _asgi_get(app, "/ping", cookie) == 200
    finally:
        SyncToAsync.__call__ = original
    return len(calls)


@pytest.mark.django_db(transaction=True)
def test_the_server_runs_a_request_in_one_worker_thread_hop(client_for, make_user):
    from django.core.handlers.asgi import ASGIHandler

    from config.asgi import OneHopASGIHandler

    client = client_for(make_user(roles.OPERATOR))
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    try:
        ours, djangos = OneHopASGIHandler(), ASGIHandler()
        _hops(ours, cookie)  # warm
        # The request signals, the middleware chain with the view and the response's close: one.
        assert _hops(ours, cookie) == 1
        assert _hops(djangos, cookie) > _hops(ours, cookie)
    finally:
        close_old_connections()


# --- locks ------------------------------------------------------------------------------------------


def _a_session_waits_for_a_row_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_locking_an_operation_waits_for_its_order_before_taking_the_operation(site, supervisor):
    """One statement locks both rows, the order's first: while another transaction holds the order,
    the operation stays free, so nothing that locks orders before operations can deadlock with it."""
    from workorders.locks import lock_operation, lock_work_order

    station = WorkstationFactory(line__site=site)
    order = released_order(user=supervisor, workstations=[station])
    op = order.operations.get()
    holding, locked = threading.Event(), threading.Event()
    release = threading.Event()
    errors = []

    def hold_the_order():
        try:
            with transaction.atomic():
                lock_work_order(order.pk)
                holding.set()
                release.wait(10)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    def lock_the_operation():
        try:
            holding.wait(10)
            with transaction.atomic():
                lock_operation(op.pk)
                locked.set()
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=hold_the_order), threading.Thread(target=lock_the_operation)]
    for t in threads:
        t.start()
    try:
        assert holding.wait(10)
        wait_until(_a_session_waits_for_a_row_lock, 10, "the second transaction never waited for the order")
        assert not locked.is_set()
        with transaction.atomic():  # ... and has not taken the operation meanwhile
            WorkOrderOperation.objects.select_for_update(nowait=True).get(pk=op.pk)
    finally:
        release.set()
        for t in threads:
            t.join(10)
    assert locked.is_set() and errors == []
