"""The production record as a read model, and the exceptions it computes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mes import roles
from traceability.record.exceptions import exceptions_for, summary
from traceability.record.selectors import record_for, record_hash
from traceability.tests.record_scenario import clean_order, event, run, with_every_exception
from workorders.states import EventKind


@pytest.fixture
def quality(make_user):
    return make_user(roles.QUALITY, username="quentin", first_name="Quentin", last_name="Quality")


def test_clean_record_holds_every_part_and_says_it_has_no_exception(site, operator):
    s = clean_order(site=site, user=operator)

    record = record_for(s.order)
    exceptions = exceptions_for(record)

    c = record.content
    assert c["order"]["number"] == "WO-REC-1"
    assert c["order"]["product"]["part_number"] == "FIN-WO-REC-1"
    assert c["order"]["routing"]["revision"] is not None
    [op] = c["operations"]
    assert op["people"] == [operator.printed_name] and op["workstation"] == s.workstation.code
    assert [m["lot"] for m in c["materials"]] == ["RAW-LOT-WO-REC-1"]
    assert c["materials"][0]["quantity"] == Decimal("2.5")
    [r] = c["checklist_runs"][0]["responses"]
    assert (r["number"], r["lsl"], r["usl"], r["in_spec"]) == (
        Decimal("5.0"),
        Decimal("4.5"),
        Decimal("5.5"),
        True,
    )
    [sop] = c["sops"]
    assert sop["version"] == 1 and sop["not_acknowledged_by"] == []
    assert [lot["code"] for lot in c["lots"]] == ["LOT-WO-REC-1-0"]
    assert exceptions == []
    assert summary(exceptions) == "No exceptions: the record shows a normal run."


def test_every_exception_kind_is_found_with_its_evidence(site, operator, supervisor):
    s = with_every_exception(clean_order(site=site, user=operator), supervisor=supervisor)

    found = {e.key: e for e in exceptions_for(record_for(s.order))}

    kinds = sorted({e.kind for e in found.values()})
    assert kinds == sorted(
        [
            "out_of_spec", "override", "checklist_missing", "checklist_late", "nonconformance_open",
            "nonconformance_dispositioned", "hold", "edit", "machine_counts", "offline_tap",
        ]
    )  # fmt: skip
    oos = found[f"out_of_spec:{s.extra['oos_response'].pk}"]
    assert oos.evidence == f"run-{s.extra['oos_response'].run_id}" and "4.5 … 5.5 Nm" in oos.detail
    assert found[f"override:{s.extra['override'].pk}"].title.startswith("Over-quantity")
    assert found[f"override:{s.extra['short'].pk}"].title == "Completed short: 8 of 10 good"
    assert found[f"nonconformance:{s.extra['nc_open'].pk}"].kind == "nonconformance_open"
    assert "Rework" in found[f"nonconformance:{s.extra['nc_done'].pk}"].detail
    assert found[f"hold:{s.extra['hold'].pk}"].evidence == f"hold-{s.extra['hold'].pk}"
    [edit] = [e for e in found.values() if e.kind == "edit"]
    assert "name" in edit.title and "Name corrected" in edit.detail
    assert found[f"offline_tap:{s.extra['late_tap'].pk}"].detail.startswith(
        "The tap was recorded 30 min after"
    )
    assert found[f"machine_counts:{s.workstation.pk}"].title.endswith("5 counted with no operation running")
    [missing] = [e for e in found.values() if e.kind == "checklist_missing"]
    assert missing.title.startswith("VISUAL at operation 10")
    assert summary(list(found.values())) == f"{len(found)} exceptions to review."


def test_a_corrected_reading_is_an_edit_after_the_fact(site, operator):
    s = clean_order(site=site, user=operator)
    first = s.runs[0].responses.get()
    first.__class__.objects.create(
        run=first.run, item=first.item, value_number=Decimal("5.2"), in_spec=True, recorded_by=operator,
        recorded_at=first.recorded_at, supersedes=first, correction_reason="Misread the gauge",
    )  # fmt: skip

    [edit] = exceptions_for(record_for(s.order))

    assert edit.kind == "edit" and "Misread the gauge" in edit.detail


def test_the_hash_follows_the_facts_not_the_lifecycle(site, operator):
    s = clean_order(site=site, user=operator)
    before = record_for(s.order).content_hash
    assert record_for(s.order).content_hash == before
    s.order.status = "closed"
    s.order.save()
    lot = s.order.lots.get()
    lot.status = "shipped"
    lot.save()
    assert record_for(s.order).content_hash == before

    event(s, EventKind.SCRAP, quantity=Decimal(1))
    assert record_for(s.order).content_hash != before
    assert record_hash({"a": Decimal("1.0")}) == record_hash({"a": Decimal("1")})


def test_assembling_a_record_takes_the_same_queries_whatever_its_size(
    site, operator, django_assert_max_num_queries
):
    small = clean_order(site=site, user=operator, number="WO-S", quantity=2, lots=1)
    big = clean_order(site=site, user=operator, number="WO-B", quantity=40, lots=20)
    torque = big.runs[0].template
    for _ in range(15):
        run(big, torque, [Decimal("5.0"), Decimal("5.1"), Decimal("4.9")])
    for _ in range(30):
        event(big, EventKind.PAUSE)

    # 25 for the record and its exceptions, 7 for its labor (operations, their runs, sign-ins,
    # override checks, taps, people and the shift calendar).
    with django_assert_max_num_queries(32) as small_queries:
        record = record_for(small.order)
        exceptions_for(record)
    with django_assert_max_num_queries(len(small_queries)):
        record = record_for(big.order)
        exceptions_for(record)
    assert len(record.content["checklist_runs"]) == 16 and len(record.content["lots"]) == 20
