"""A backup restored into an empty PostgreSQL database is the plant again: the same rows, an audit
trail that verifies, and an outbox that resumes with its original keys. A tampered backup and a
restore over a database in use are refused."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from integration.models import OutboxMessage
from integration.states import MessageStatus
from integration.tests.support import FakeErpProcess
from mes.tests.servers import run_manage

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

DELIVER = "from integration.tasks import deliver_outbox; deliver_outbox()"


def _server() -> dict:
    settings = connection.settings_dict
    return {
        "host": settings["HOST"] or "127.0.0.1",
        "port": settings["PORT"] or 5432,
        "user": settings["USER"] or "postgres",
    }


def _url(name: str) -> str:
    server = _server()
    return f"postgres://{server['user']}@{server['host']}:{server['port']}/{name}"


@pytest.fixture
def empty_database():
    """Hands out new, empty databases; drops them afterwards."""
    made = []

    def make() -> str:
        name = f"test_mes_restore_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(dbname="postgres", autocommit=True, **_server()) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return name

    yield make
    with psycopg.connect(dbname="postgres", autocommit=True, **_server()) as admin:
        for name in made:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _row_counts(dbname: str) -> dict[str, int]:
    with psycopg.connect(dbname=dbname, **_server()) as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            ).fetchall()
        ]
        return {table: db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}


def _outbox(dbname: str) -> dict[str, str]:
    with psycopg.connect(dbname=dbname, **_server()) as db:
        rows = db.execute("SELECT idempotency_key, status FROM integration_outboxmessage").fetchall()
    return {str(key): status for key, status in rows}


def _restore(path, dbname: str):
    return run_manage("restore", str(path), DATABASE_URL=_url(dbname), SECRET_KEY="restore-test")


@pytest.fixture
def plant_backup(started, tmp_path):
    """A plant with production pending for the ERP and a sealed audit trail, backed up."""
    started.good(3)
    started.scrap(1)
    started.good(2)
    call_command("seal_audit_trail", verbosity=0)
    path = tmp_path / "plant.dump"
    call_command("backup", output=path, verbosity=0)
    return path


@pytest.mark.requirement("A11-7", "P11-11.10c")
def test_a_restore_gives_the_same_rows_a_verified_trail_and_an_outbox_that_resumes_with_its_keys(
    plant_backup, empty_database
):
    source = connection.settings_dict["NAME"]
    pending = {str(k) for k in OutboxMessage.objects.values_list("idempotency_key", flat=True)}
    # three production messages and the order's status change(s)
    assert len(pending) >= 3
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {MessageStatus.PENDING}

    first = empty_database()
    done = _restore(plant_backup, first)
    assert done.returncode == 0, done.stderr
    assert "audit trail OK" in done.stdout
    assert _row_counts(first) == _row_counts(source)
    assert run_manage("verify_audit_trail", DATABASE_URL=_url(first), SECRET_KEY="x").returncode == 0

    erp = FakeErpProcess(log_name="fake-erp-restore").start()
    try:
        delivered = run_manage(
            "shell", "-c", DELIVER, DATABASE_URL=_url(first), ERP_URL=erp.url, SECRET_KEY="x"
        )
        assert delivered.returncode == 0, delivered.stderr
        assert _outbox(first) == {key: MessageStatus.ACKNOWLEDGED for key in pending}
        assert erp.stats()["unique"] == len(pending)

        # The same backup restored a second time (a restore drill) sends the same keys again:
        # the ERP answers them as repeats and counts nothing twice.
        second = empty_database()
        assert _restore(plant_backup, second).returncode == 0
        run_manage("shell", "-c", DELIVER, DATABASE_URL=_url(second), ERP_URL=erp.url, SECRET_KEY="x")
        stats = erp.stats()
        assert (stats["unique"], stats["duplicates"]) == (len(pending), len(pending))
    finally:
        erp.stop()


def test_a_restore_onto_a_database_in_use_is_refused_and_writes_nothing(plant_backup, empty_database):
    target = empty_database()
    assert _restore(plant_backup, target).returncode == 0
    before = _row_counts(target)

    again = _restore(plant_backup, target)

    assert again.returncode != 0
    assert "is not empty" in again.stderr and "Nothing was written" in again.stderr
    assert _row_counts(target) == before


def test_a_backup_whose_sealed_history_was_changed_is_refused_and_leaves_the_database_empty(
    plant_backup, empty_database, tmp_path
):
    # Someone with the database's superuser rights changes a sealed history row (the append-only
    # trigger is bypassed), then takes a backup.
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "UPDATE workorders_historicalworkorder SET quantity = quantity + 1 "
            "WHERE history_id = (SELECT min(history_id) FROM workorders_historicalworkorder)"
        )
        cursor.execute("SET session_replication_role = DEFAULT")
    tampered = tmp_path / "tampered.dump"
    call_command("backup", output=tampered, verbosity=0)
    target = empty_database()

    done = _restore(tampered, target)

    assert done.returncode != 0
    assert "Audit trail BROKEN" in done.stderr and "workorders_historicalworkorder" in done.stderr
    assert "emptied again" in done.stderr
    assert _row_counts(target) == {}


def test_backup_never_overwrites_a_file(tmp_path, db):
    path = tmp_path / "exists.dump"
    path.write_bytes(b"an earlier backup")
    with pytest.raises(Exception, match="already exists"):
        call_command("backup", output=path)
    assert path.read_bytes() == b"an earlier backup"
