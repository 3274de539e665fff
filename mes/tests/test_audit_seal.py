"""The audit trail's coverage and its seal: history on every regulated model, the hash chain,
and a verify that finds a changed, deleted or slipped-in history row."""

import threading
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from mes import roles
from mes import seal as sealing
from mes.models import Site
from mes.seal import AuditSeal, history_models, seal_audit_trail, seal_verify
from mes.signatures import Meaning, Signature, signature_sign
from mes.tests.factories import SiteFactory, UserFactory

REGULATED = [
    # work orders and operations, downtime, lots and genealogy
    "workorders.workorder",
    "workorders.workorderoperation",
    "workorders.downtime",
    "workorders.lot",
    "workorders.consumption",
    "workorders.genealogylink",
    "workorders.product",
    "workorders.bomline",
    "workorders.routing",
    "workorders.routingoperation",
    "workorders.reasoncode",
    # quality records
    "quality.checklisttemplate",
    "quality.checklisttemplateversion",
    "quality.checklistitem",
    "quality.checklistrun",
    "quality.nonconformance",
    "quality.hold",
    "quality.sopdocument",
    "quality.sopversion",
    # the plant, people, their roles, tablets and signatures
    "mes.site",
    "mes.line",
    "mes.workstation",
    "mes.shift",
    "mes.user",
    "mes.tablet",
    "mes.signature",
    # the ERP link
    "integration.outboxmessage",
    "integration.erpendpoint",
]


def _history_table(label: str) -> str:
    from django.apps import apps

    model = apps.get_model(label)
    return getattr(model, model._meta.simple_history_manager_attribute).model._meta.db_table


# Append-only, their own history: written once and never changed, so no history table copies
# them; the seal covers their rows directly.
APPEND_ONLY = ["workorders.productionevent"]


@pytest.mark.parametrize("label", REGULATED)
def test_every_regulated_model_has_a_sealed_history_table(label):
    assert _history_table(label) in history_models()


@pytest.mark.parametrize("label", APPEND_ONLY)
def test_an_append_only_record_is_its_own_history_and_sealed_as_it_stands(label):
    from django.apps import apps

    model = apps.get_model(label)
    assert getattr(model._meta, "simple_history_manager_attribute", None) is None
    assert not any(
        m._meta.label_lower == f"{model._meta.app_label}.historical{model._meta.model_name}"
        for m in apps.get_models()
    )
    assert sealing.sealed_models()[model._meta.db_table] is model
    assert model._meta.db_table not in history_models()


@contextmanager
def as_a_database_superuser():
    """Tamper as someone who may switch triggers off: on PostgreSQL the history tables refuse
    UPDATE and DELETE to everyone else. The seal must catch such a change all the same."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")


@pytest.mark.requirement("P11-11.10c")
@pytest.mark.postgres
@pytest.mark.django_db
def test_every_history_table_refuses_update_and_delete_on_postgresql():
    site = SiteFactory(name="Plant one")
    row = Site.history.get(id=site.pk)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Site.history.filter(history_id=row.history_id).update(name="Forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Site.history.filter(history_id=row.history_id).delete()

    site.name = "Plant one, renamed"  # changes still add history
    site.save()
    assert list(Site.history.filter(id=site.pk).order_by("history_id").values_list("name", flat=True)) == [
        "Plant one",
        "Plant one, renamed",
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'mes_history_append_only'"
        )
        protected = {name for (name,) in cursor.fetchall()}
    assert protected == set(sealing.sealed_models())


@pytest.mark.django_db
def test_a_change_of_role_is_in_the_history_with_who_and_why(make_user):
    admin = make_user(roles.ADMIN, username="ada")
    person = make_user(roles.OPERATOR, username="otto")
    person._history_user = admin
    person._change_reason = "Promoted to supervisor"
    person.groups.add(Group.objects.get(name=roles.SUPERVISOR))

    latest = person.history.order_by("-history_id").first()
    assert latest.history_type == "~"
    assert latest.history_user == admin
    assert latest.history_change_reason == "Promoted to supervisor"
    assert sorted(g.group.name for g in latest.groups.all()) == ["operator", "supervisor"]
    assert "mes_historicaluser_groups" in history_models()


@pytest.mark.django_db
def test_a_signature_is_in_the_history_with_its_signer(make_user, site):
    signer = make_user(roles.QUALITY, username="quinn")
    signature = signature_sign(record=site, signer=signer, meaning=Meaning.REVIEWED, password="pass-word-1")

    row = Signature.history.get(id=signature.pk)
    assert (row.history_type, row.history_user) == ("+", signer)
    assert row.history_change_reason.startswith("Reviewed")


# --- sealing ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_seal_covers_every_history_row_and_links_to_the_previous_seal(make_user):
    SiteFactory.create_batch(3)
    first = seal_audit_trail()
    assert len(first) == 1 and first[0].number == 1
    assert first[0].previous_hash == sealing.GENESIS_HASH
    sealed = {p.table: p.row_count for p in first[0].parts.all()}
    assert sealed["mes_historicalsite"] == Site.history.count()

    assert seal_audit_trail() == []  # nothing new: no empty seal

    SiteFactory()
    second = seal_audit_trail()
    assert [s.number for s in second] == [2]
    assert second[0].previous_hash == first[0].hash
    assert [p.table for p in second[0].parts.all()] == ["mes_historicalsite"]
    assert second[0].row_count == 1


@pytest.mark.django_db
def test_a_large_backlog_is_sealed_in_batches_that_chain():
    SiteFactory.create_batch(5)
    seals = seal_audit_trail(batch_rows=2)
    assert len(seals) >= 3
    assert sum(s.row_count for s in seals) == sum(m.objects.count() for m in sealing.sealed_models().values())
    assert seal_verify().ok


@pytest.mark.django_db
def test_an_untouched_audit_trail_verifies(capsys):
    SiteFactory.create_batch(2)
    UserFactory(role=roles.OPERATOR)
    call_command("seal_audit_trail")
    call_command("verify_audit_trail")
    out = capsys.readouterr().out
    assert "Audit trail OK: 1 seals" in out


@pytest.mark.requirement("MES-007", "P11-11.10a")
@pytest.mark.django_db
def test_verify_names_the_seal_and_the_row_changed_by_raw_sql(capsys):
    sites = SiteFactory.create_batch(3)
    seal_audit_trail()
    SiteFactory()
    seal_audit_trail()
    target = Site.history.get(id=sites[1].pk)

    with as_a_database_superuser(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE mes_historicalsite SET name = %s WHERE history_id = %s", ["Forged", target.history_id]
        )

    result = seal_verify()
    assert not result.ok
    assert result.problem.seal == 1
    assert result.problem.table == "mes_historicalsite"
    assert result.problem.changed == [target.history_id]
    with pytest.raises(CommandError, match="seal 1"):
        call_command("verify_audit_trail")
    err = capsys.readouterr().err
    assert "seal 1" in err and f"history ids {target.history_id}" in err
    assert "mes_historicalsite" in err


def _ledger_with_a_completion(user):
    from workorders import services
    from workorders.tests.factories import key, released_order

    order = released_order(user=user, quantity=10)
    op = order.operations.get()
    services.operation_start(operation_id=op.pk, workstation=op.workstation, user=user, key=key())
    recorded = services.operation_record_good(
        operation_id=op.pk, workstation=op.workstation, user=user, quantity=3, key=key()
    )
    return recorded.event


@pytest.mark.django_db
def test_the_ledger_is_sealed_as_it_stands_and_a_changed_event_is_named(make_user, capsys):
    from workorders.models import ProductionEvent

    completion = _ledger_with_a_completion(make_user(roles.SUPERVISOR))
    seal = seal_audit_trail()[0]
    ledger = seal.parts.get(table="workorders_productionevent")
    assert ledger.row_count == ProductionEvent.objects.count()
    assert seal_verify().ok

    with as_a_database_superuser(), connection.cursor() as cursor:
        cursor.execute("UPDATE workorders_productionevent SET quantity = 30 WHERE id = %s", [completion.pk])

    result = seal_verify()
    assert not result.ok
    assert (result.problem.seal, result.problem.table) == (seal.number, "workorders_productionevent")
    assert result.problem.changed == [completion.pk]
    with pytest.raises(CommandError, match=f"seal {seal.number}"):
        call_command("verify_audit_trail")
    err = capsys.readouterr().err
    assert f"changed rows of workorders_productionevent: history ids {completion.pk}" in err


@pytest.mark.django_db
def test_verify_finds_a_deleted_ledger_event(make_user):
    completion = _ledger_with_a_completion(make_user(roles.SUPERVISOR))
    seal_audit_trail()

    with as_a_database_superuser(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM integration_outboxmessage WHERE event_id = %s", [completion.pk])
        cursor.execute("DELETE FROM workorders_productionevent WHERE id = %s", [completion.pk])

    result = seal_verify()
    assert not result.ok
    assert (result.problem.table, result.problem.missing) == ("workorders_productionevent", [completion.pk])


@pytest.mark.django_db
def test_seals_of_a_history_table_dropped_on_purpose_still_verify_and_a_vanished_table_does_not():
    # A seal made while the ledger still had a history table (dropped since: the ledger is its own).
    retired = "workorders_historicalproductionevent"
    assert retired in sealing.RETIRED_TABLES and retired not in sealing.sealed_models()

    def seal_with_part(number, previous, table):
        parts = [(table, [[1, 3]], 3, "ab" * 32)]
        digest = sealing.seal_digest(parts)
        seal = AuditSeal.objects.create(
            number=number,
            previous_hash=previous,
            digest=digest,
            hash=sealing.chain_hash(previous, digest),
            row_count=3,
            sealed_at=timezone.now(),
            trigger=sealing.Trigger.COMMAND,
            state={},
        )
        sealing.AuditSealPart.objects.create(
            seal=seal,
            table=table,
            low=1,
            high=3,
            ranges=[[1, 3]],
            row_count=3,
            digest="ab" * 32,
            row_hashes="",
        )
        return seal

    first = seal_with_part(1, sealing.GENESIS_HASH, retired)
    result = seal_verify()
    assert result.ok and result.retired == {retired: 3}

    seal_with_part(2, first.hash, "workorders_historicalsomethingelse")
    result = seal_verify()
    assert not result.ok and "is gone" in result.problem.message


@pytest.mark.requirement("MES-007")
@pytest.mark.django_db
def test_verify_finds_a_deleted_sealed_row():
    sites = SiteFactory.create_batch(3)
    seal_audit_trail()
    target = Site.history.get(id=sites[0].pk)

    with as_a_database_superuser(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM mes_historicalsite WHERE history_id = %s", [target.history_id])

    result = seal_verify()
    assert not result.ok
    assert (result.problem.seal, result.problem.missing) == (1, [target.history_id])
    assert "deleted rows of mes_historicalsite" in str(result.problem)


@pytest.mark.django_db
def test_verify_finds_a_broken_link_between_seals():
    SiteFactory()
    seal_audit_trail()
    SiteFactory()
    seal_audit_trail()
    if connection.vendor == "postgresql":
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("UPDATE mes_auditseal SET digest = %s WHERE number = 2", ["0" * 64])
        return  # seals are append-only on PostgreSQL: the forgery below can't happen there
    with connection.cursor() as cursor:
        cursor.execute("UPDATE mes_auditseal SET digest = %s WHERE number = 2", ["0" * 64])
    result = seal_verify()
    assert not result.ok and result.problem.seal == 2


@pytest.mark.django_db
def test_a_row_committed_late_below_the_sealed_ids_is_sealed_by_the_next_seal():
    # Stand-in for a slow transaction: its row has a lower id than rows already sealed.
    sites = SiteFactory.create_batch(3)
    late = Site.history.get(id=sites[1].pk)
    values = {f.attname: getattr(late, f.attname) for f in late._meta.concrete_fields}
    late_id = late.history_id
    with as_a_database_superuser():
        late.delete()  # not yet visible when the first seal runs
    first = seal_audit_trail()[0]
    state = first.state["mes_historicalsite"]
    assert sealing.in_ranges(late_id, [p[:2] for p in state["pending"]])

    Site.history.model.objects.create(**values)  # ... the slow transaction commits
    second = seal_audit_trail()[0]
    part = second.parts.get(table="mes_historicalsite")
    assert part.ranges == [[late_id, late_id]]
    assert not sealing.in_ranges(late_id, [p[:2] for p in second.state["mes_historicalsite"]["pending"]])
    assert seal_verify().ok


@pytest.mark.django_db
def test_a_row_slipped_into_an_abandoned_gap_fails_the_verify(settings):
    settings.AUDIT_SEAL_GAP_HORIZON_SECONDS = -1  # every gap is given up at the next seal
    sites = SiteFactory.create_batch(3)
    gap = Site.history.get(id=sites[1].pk)
    values = {f.attname: getattr(gap, f.attname) for f in gap._meta.concrete_fields}
    gap_id = gap.history_id
    with as_a_database_superuser():
        gap.delete()
    seal_audit_trail()
    SiteFactory()
    second = seal_audit_trail()[0]
    assert sealing.in_ranges(gap_id, second.state["mes_historicalsite"]["abandoned"])
    assert seal_verify().ok

    Site.history.model.objects.create(**values)
    result = seal_verify()
    assert not result.ok and result.problem.extra == [gap_id]


@pytest.mark.django_db
def test_the_beat_task_seals_and_is_scheduled(settings):
    from mes.tasks import seal_audit_trail as task

    SiteFactory()
    task.delay()
    assert AuditSeal.objects.get().trigger == sealing.Trigger.BEAT
    assert settings.CELERY_BEAT_SCHEDULE["audit-seal"]["task"] == "mes.seal_audit_trail"


def test_canonical_rows_are_the_same_whatever_the_database_returns():
    import datetime as dt
    import uuid
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    utc = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)
    berlin = utc.astimezone(ZoneInfo("Europe/Berlin"))
    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert sealing.canonical_row(["a", "b", "c"], [utc, Decimal("1.500"), key]) == sealing.canonical_row(
        ["a", "b", "c"], [berlin, Decimal("1.5"), key]
    )
    assert sealing.canonical_row(["j"], [{"b": 1, "a": [1, 2]}]) == b'[["j",{"a":[1,2],"b":1}]]'


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sealers_at_once_never_fork_the_chain():
    SiteFactory.create_batch(5)
    errors = []
    barrier = threading.Barrier(2)

    def seal():
        try:
            barrier.wait()
            seal_audit_trail()
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=seal) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert AuditSeal.objects.count() == 1
    assert seal_verify().ok


def _sealed_before_a_column_existed(monkeypatch, column: str):
    """Seal as a release without `column` would have: the rows are hashed without it."""
    from mes.seal import canonical
    from mes.seal import sealing as sealing_module

    every = canonical.columns

    def without(model, only=None):
        found = every(model, only)
        return [c for c in found if c[0] != column] if only is None else found

    monkeypatch.setattr(canonical, "columns", without)
    monkeypatch.setattr(sealing_module, "columns", without)
    seal_audit_trail()
    monkeypatch.setattr(canonical, "columns", every)
    monkeypatch.setattr(sealing_module, "columns", every)


@pytest.mark.requirement("MES-007")
@pytest.mark.django_db
def test_an_upgrade_that_adds_a_column_keeps_the_old_seals_and_they_still_catch_a_change(monkeypatch):
    sites = SiteFactory.create_batch(2)
    _sealed_before_a_column_existed(monkeypatch, "time_zone")
    part = AuditSeal.objects.get().parts.get(table="mes_historicalsite")
    assert "time_zone" not in part.columns and "name" in part.columns

    assert seal_verify().ok  # checked over the columns it was sealed with, not today's

    SiteFactory()
    seal_audit_trail()  # new rows are sealed over every column, the new one too
    assert "time_zone" in AuditSeal.objects.get(number=2).parts.get(table="mes_historicalsite").columns
    assert seal_verify().ok

    target = Site.history.get(id=sites[0].pk)
    with as_a_database_superuser(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE mes_historicalsite SET name = %s WHERE history_id = %s", ["Forged", target.history_id]
        )
    result = seal_verify()
    assert not result.ok and result.problem.seal == 1 and result.problem.changed == [target.history_id]


@pytest.mark.django_db
def test_a_sealed_column_that_disappears_is_reported():
    SiteFactory()
    seal_audit_trail()
    part = AuditSeal.objects.get().parts.get(table="mes_historicalsite")
    part.columns = [*part.columns, "plant_code"]  # as if a release had dropped this column since
    with as_a_database_superuser():
        part.save(update_fields=["columns"])

    result = seal_verify()

    assert not result.ok and result.problem.table == "mes_historicalsite"
    assert "no longer has the sealed column(s) plant_code" in result.problem.message


@pytest.mark.requirement("P11-11.10c")
@pytest.mark.postgres
@pytest.mark.django_db
def test_every_append_only_table_has_a_trigger_refusing_change_on_postgresql():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE '%%append_only' AND NOT t.tgisinternal"
        )
        protected = {name for (name,) in cursor.fetchall()}
    assert set(sealing.append_only_models()) - protected == set()
