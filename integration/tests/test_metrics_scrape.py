"""The numbers /metrics gives move with the plant's actions: taps, the outbox, sign-ins, seals."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from integration.models import OutboxMessage
from integration.states import MessageStatus

pytestmark = pytest.mark.django_db(transaction=True)


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_taps_and_the_outbox_move_their_numbers(client, started):
    before = scrape(client)

    started.good(3)
    started.scrap(1)

    after = scrape(client)
    for kind in ("good", "scrap"):
        assert (
            value(after, "mes_production_events_total", kind=kind)
            - value(before, "mes_production_events_total", kind=kind)
            == 1
        )
    waiting = OutboxMessage.objects.filter(status__in=[MessageStatus.PENDING, MessageStatus.SENT]).count()
    assert waiting >= 2
    assert value(after, "mes_erp_outbox_depth") == waiting
    assert value(after, "mes_erp_outbox_oldest_pending_age_seconds") >= 0

    OutboxMessage.objects.filter(pk=OutboxMessage.objects.order_by("pk").first().pk).update(
        status=MessageStatus.DEAD
    )
    assert value(scrape(client), "mes_erp_outbox_dead_letters") == 1


def test_a_tap_that_rolls_back_counts_nothing(client, started):
    before = value(scrape(client), "mes_production_events_total", kind="good")
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do: nothing may be counted
        started.good(0)
    assert value(scrape(client), "mes_production_events_total", kind="good") == before


def test_sign_in_failures_and_the_audit_seal_are_watched(client, make_user):
    make_user("operator", username="pat", password="right-password-1")
    before = value(scrape(client), "mes_sign_in_failures_total", way="password", outcome="wrong_credentials")

    client.post(reverse("login"), {"username": "pat", "password": "wrong"})

    samples = scrape(client)
    assert (
        value(samples, "mes_sign_in_failures_total", way="password", outcome="wrong_credentials")
        == before + 1
    )

    call_command("seal_audit_trail", verbosity=0)
    assert 0 <= value(scrape(client), "mes_audit_last_seal_age_seconds") < 60
