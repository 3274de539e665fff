"""Delivery to the fake ERP (a real HTTP server process): acknowledgement, rejection, retry, dead letter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integration import services
from integration.models import OutboxMessage
from integration.states import MessageStatus as M
from mes.tests.servers import wait_until
from workorders.models import ProductionEvent


def _drain(limit=50):
    total = services.DeliveryReport()
    while True:
        report = services.outbox_deliver_due(limit=limit)
        for name in ("claimed", "acknowledged", "rejected", "retried", "dead"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        if not report.claimed:
            return total


def test_messages_are_acknowledged_with_the_erps_reference_and_counted_once(started, fake_erp):
    started.good(4)
    started.good(3)
    started.scrap(2)
    report = _drain()
    assert report.acknowledged == OutboxMessage.objects.count()
    for message in OutboxMessage.objects.all():
        assert message.status == M.ACKNOWLEDGED
        assert message.erp_reference.startswith("ERP-")
        assert message.attempts == 1
    totals = fake_erp.order(started.order.number)
    assert totals["good"] == "7"
    assert totals["scrap"] == "2"
    assert fake_erp.stats()["unique"] == OutboxMessage.objects.count()


@pytest.mark.requirement("MES-002")
def test_a_message_sent_again_is_applied_once_and_gets_the_first_acknowledgement(started, fake_erp):
    started.good(4)
    _drain()
    message = OutboxMessage.objects.get(message_type="completion")
    first_reference = message.erp_reference
    # Send the very same message again, as a worker would after a lost answer.
    OutboxMessage.objects.filter(pk=message.pk).update(status=M.PENDING)
    _drain()
    message.refresh_from_db()
    assert message.status == M.ACKNOWLEDGED
    assert message.erp_reference == first_reference
    assert fake_erp.stats()["duplicates"] == 1
    assert fake_erp.order(started.order.number)["good"] == "4"


def test_unknown_material_is_rejected_to_the_human_queue_and_not_retried(started, fake_erp):
    fake_erp.catalog(materials=["SOMETHING-ELSE"])
    started.good(1)
    report = _drain()
    completion = OutboxMessage.objects.get(message_type="completion")
    assert completion.status == M.REJECTED
    assert "not known to the ERP" in completion.last_error
    assert report.retried == 0
    assert _drain().claimed == 0  # nothing is due: a rejection waits for a person


def test_closed_order_in_the_erp_rejects_with_its_reason(started, fake_erp):
    fake_erp.catalog(closed_orders=[started.order.number])
    started.scrap(1)
    _drain()
    assert OutboxMessage.objects.filter(status=M.REJECTED).count() == OutboxMessage.objects.count()
    assert "closed in the ERP" in OutboxMessage.objects.first().last_error


def test_transport_errors_are_retried_with_backoff_then_dead_after_max_attempts(started, fake_erp, settings):
    settings.ERP_MAX_ATTEMPTS = 3
    settings.ERP_BACKOFF_SECONDS = 0.0
    fake_erp.faults(error_rate=1.0)
    started.good(1)
    for _ in range(5):
        services.outbox_deliver_due()
    dead = OutboxMessage.objects.filter(status=M.DEAD)
    assert dead.count() == OutboxMessage.objects.count()
    assert all(m.attempts == 3 and "500" in m.last_error for m in dead)
    assert fake_erp.stats()["unique"] == 0


def test_backoff_grows_exponentially_with_jitter(settings):
    settings.ERP_BACKOFF_SECONDS = 2
    settings.ERP_BACKOFF_MAX_SECONDS = 60
    for attempts, ceiling in [(1, 2), (2, 4), (3, 8), (6, 60), (20, 60)]:
        values = {services.backoff_seconds(attempts) for _ in range(20)}
        assert all(ceiling / 2 <= v <= ceiling for v in values)
        assert len(values) > 1  # jitter


def test_a_failed_message_is_not_due_before_its_backoff(started, fake_erp, settings):
    settings.ERP_BACKOFF_SECONDS = 300
    fake_erp.faults(error_rate=1.0)
    started.good(1)
    _drain()
    fake_erp.faults()
    assert _drain().claimed == 0
    message = OutboxMessage.objects.get(message_type="completion")
    assert message.status == M.PENDING and message.next_attempt_at > timezone.now() + timedelta(seconds=100)


def test_timeouts_and_unreadable_answers_are_retried_and_the_effect_happens_once(started, fake_erp, settings):
    settings.ERP_TIMEOUT = 0.5
    fake_erp.faults(timeout_rate=1.0, hang_seconds=2)
    started.good(2)
    services.outbox_deliver_due()
    assert OutboxMessage.objects.filter(status=M.PENDING, last_error__contains="timeout").exists()
    fake_erp.faults(garbage_rate=1.0)
    services.outbox_deliver_due()
    assert OutboxMessage.objects.filter(last_error__contains="unexpected answer").exists()
    fake_erp.faults()
    _drain()
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {M.ACKNOWLEDGED}
    assert fake_erp.order(started.order.number)["good"] == "2"
    assert fake_erp.stats()["unique"] == OutboxMessage.objects.count()


def test_an_erp_that_is_down_is_a_transport_failure(started, fake_erp):
    fake_erp.faults(down=True)
    started.good(1)
    report = services.outbox_deliver_due()
    assert report.retried == report.claimed > 0
    assert "transport error" in OutboxMessage.objects.first().last_error


def test_messages_of_a_worker_that_died_are_reclaimed_after_their_lease(started, fake_erp):
    started.good(1)
    claimed = services.outbox_claim(limit=10)
    assert claimed and all(m.status == M.SENT for m in OutboxMessage.objects.all())
    # The worker dies here. Before the lease runs out nothing is taken from it ...
    assert services.outbox_reclaim_expired() == 0
    # ... after, the sweep gives them back and they are delivered with the same key.
    later = timezone.now() + timedelta(seconds=600)
    assert services.outbox_reclaim_expired(now=later) == len(claimed)
    _drain()
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {M.ACKNOWLEDGED}
    assert all(m.attempts == 2 for m in OutboxMessage.objects.all())


def test_b2mml_connector_delivers_to_the_fake_erp(started, fake_erp, settings):
    settings.ERP_CONNECTOR = "b2mml"
    started.good(6)
    started.scrap(1)
    _drain()
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {M.ACKNOWLEDGED}
    totals = fake_erp.order(started.order.number)
    assert (totals["good"], totals["scrap"], totals["status"]) == ("6", "1", "in_progress")


@pytest.mark.requirement("MES-002")
def test_every_committed_event_of_interest_has_exactly_one_message(started, fake_erp):
    for i in range(5):
        started.good(1)
        started.scrap(1) if i % 2 else None
    kinds = ["complete", "scrap", "order_status"]
    assert OutboxMessage.objects.count() == ProductionEvent.objects.filter(kind__in=kinds).count()


@pytest.mark.django_db(transaction=True)
def test_after_commit_the_embedded_deliverer_sends_without_being_asked(started, fake_erp):
    from integration import embedded

    embedded.enabled = True
    try:
        started.good(1)  # commits (transactional test): the on-commit nudge wakes the deliverer thread
        wait_until(lambda: not OutboxMessage.objects.exclude(status=M.ACKNOWLEDGED).exists(), 15, "not sent")
    finally:
        embedded.stop()
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {M.ACKNOWLEDGED}
