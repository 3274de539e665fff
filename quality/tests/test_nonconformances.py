"""Nonconformances and holds: workflow, disposition and release with e-signatures, roles."""

import pytest

from mes.errors import Forbidden, IllegalTransition, ValidationFailed
from mes.signatures import manifestations
from quality import selectors, services
from quality.models import Hold, Nonconformance
from quality.tests.conftest import PASSWORD, key


@pytest.fixture
def nc(site, supervisor, order):
    done = services.nonconformance_open(
        key=key(), user=supervisor, site=site, title="Burr on edge", work_order=order
    )
    return Nonconformance.objects.get(pk=done.result_id)


def test_disposition_needs_quality_and_a_signature(nc, supervisor, quality_user):
    with pytest.raises(Forbidden):
        services.nonconformance_disposition(
            nonconformance_id=nc.pk, user=supervisor, disposition="rework", note="Deburr", password=PASSWORD
        )
    with pytest.raises(ValidationFailed) as wrong:
        services.nonconformance_disposition(
            nonconformance_id=nc.pk, user=quality_user, disposition="rework", note="Deburr", password="wrong"
        )
    assert wrong.value.field == "password"
    nc.refresh_from_db()
    assert nc.status == "open" and not nc.disposition

    services.nonconformance_investigate(nonconformance_id=nc.pk, user=quality_user, note="Tool worn")
    services.nonconformance_disposition(
        nonconformance_id=nc.pk,
        user=quality_user,
        disposition="rework",
        note="Deburr and re-inspect",
        password=PASSWORD,
    )
    nc.refresh_from_db()
    assert nc.status == "dispositioned" and nc.disposition == "rework" and nc.dispositioned_by == quality_user
    [shown] = manifestations(nc)
    assert shown.printed_name == "Quinn Quist" and shown.intact

    services.nonconformance_close(nonconformance_id=nc.pk, user=quality_user)
    nc.refresh_from_db()
    assert nc.status == "closed"
    assert manifestations(nc)[0].intact, "closing does not change what was signed"
    assert nc.history.count() == 4


def test_unknown_disposition_and_illegal_moves_are_refused(nc, quality_user):
    with pytest.raises(ValidationFailed) as refused:
        services.nonconformance_disposition(
            nonconformance_id=nc.pk, user=quality_user, disposition="ignore", note="x", password=PASSWORD
        )
    assert refused.value.field == "disposition"
    with pytest.raises(IllegalTransition):
        services.nonconformance_close(nonconformance_id=nc.pk, user=quality_user)


def test_opening_is_idempotent_per_key(site, supervisor):
    k = key()
    first = services.nonconformance_open(key=k, user=supervisor, site=site, title="Dent")
    again = services.nonconformance_open(key=k, user=supervisor, site=site, title="Dent")
    assert again.replayed and again.result_id == first.result_id and Nonconformance.objects.count() == 1


def test_hold_release_needs_quality_reason_and_signature_and_resumes_the_order(
    order, supervisor, quality_user
):
    placed = services.hold_place(key=key(), user=supervisor, work_order=order, reason="Suspect bar stock")
    hold = Hold.objects.get(pk=placed.result_id)
    order.refresh_from_db()
    assert order.status == "on_hold"

    with pytest.raises(Forbidden):
        services.hold_release(hold_id=hold.pk, user=supervisor, reason="ok", key=key(), password=PASSWORD)
    with pytest.raises(ValidationFailed):
        services.hold_release(hold_id=hold.pk, user=quality_user, reason="", key=key(), password=PASSWORD)
    with pytest.raises(ValidationFailed):
        services.hold_release(hold_id=hold.pk, user=quality_user, reason="Checked", key=key(), password="bad")
    hold.refresh_from_db()
    assert hold.status == "active"

    services.hold_release(
        hold_id=hold.pk, user=quality_user, reason="100 % checked, all good", key=key(), password=PASSWORD
    )
    hold.refresh_from_db()
    order.refresh_from_db()
    assert hold.status == "released" and hold.released_by == quality_user
    assert order.status == "released"
    [shown] = manifestations(hold)
    assert shown.meaning == "Released"


@pytest.mark.requirement("MES-006")
def test_the_order_stays_on_hold_until_its_last_hold_is_released(order, quality_user):
    first = services.hold_place(key=key(), user=quality_user, work_order=order, reason="One")
    services.hold_place(key=key(), user=quality_user, work_order=order, reason="Two")
    services.hold_release(
        hold_id=first.result_id, user=quality_user, reason="done", key=key(), password=PASSWORD
    )
    order.refresh_from_db()
    assert order.status == "on_hold"


def test_open_nonconformances_and_holds_are_summarised_for_supervisors(nc, order, supervisor, quality_user):
    services.hold_place(key=key(), user=quality_user, work_order=order, reason="Suspect")
    summary = selectors.quality_summary(supervisor)
    assert summary == {"open_nonconformances": 1, "by_status": {"open": 1}, "active_holds": 1}
