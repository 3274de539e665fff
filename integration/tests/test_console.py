"""The integration console: the outbox's health, the human queue with retry and skip (audited),
reconciliation with mismatches highlighted and a CSV export."""

from __future__ import annotations

import csv
import io
import json

import pytest

from integration import selectors, services
from integration.models import OutboxMessage
from integration.states import MessageStatus as M
from mes import roles
from mes.errors import IllegalTransition, ValidationFailed


def _deliver_all():
    while services.outbox_deliver_due().claimed:
        pass


def test_console_shows_queue_depth_and_the_missing_erp(client_for, supervisor, started):
    started.good(2)
    page = client_for(supervisor).get("/integration/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "No ERP is configured" in html
    snapshot = selectors.console_snapshot(user=supervisor)
    assert snapshot.queue_depth == OutboxMessage.objects.count() > 0
    assert snapshot.oldest_pending_seconds is not None
    assert f'data-kpi="queue_depth">{snapshot.queue_depth}<' in html


def test_dead_letters_show_payload_and_error_and_a_retry_is_audited(
    client_for, supervisor, started, fake_erp, settings
):
    settings.ERP_MAX_ATTEMPTS = 1
    fake_erp.faults(error_rate=1.0)
    started.good(3)
    services.outbox_deliver_due()
    dead = OutboxMessage.objects.filter(status=M.DEAD).first()
    assert dead is not None
    client = client_for(supervisor)
    html = client.get("/integration/").content.decode()
    assert (
        f'id="message-{dead.pk}"' in html
        and "ERP answered 500" in html
        and dead.payload["order_number"] in html
    )

    # A retry without a reason is refused; with one it is done and recorded with its author.
    client.post(f"/integration/messages/{dead.pk}/retry/", {"reason": ""})
    dead.refresh_from_db()
    assert dead.status == M.DEAD
    fake_erp.faults()
    response = client.post(
        f"/integration/messages/{dead.pk}/retry/", {"reason": "ERP back after maintenance"}
    )
    assert response.status_code == 302
    dead.refresh_from_db()
    assert dead.status == M.PENDING and dead.attempts == 0
    record = dead.history.latest()
    assert (
        record.history_user == supervisor
        and record.history_change_reason == "retry: ERP back after maintenance"
    )
    _deliver_all()
    dead.refresh_from_db()
    assert dead.status == M.ACKNOWLEDGED


def test_a_rejection_can_be_skipped_with_a_reason_but_not_an_acknowledged_message(
    supervisor, started, fake_erp
):
    fake_erp.catalog(materials=[])
    started.scrap(1)
    started.scrap(1)
    _deliver_all()
    rejected = OutboxMessage.objects.filter(status=M.REJECTED).first()
    with pytest.raises(ValidationFailed):
        services.outbox_skip(message_id=rejected.pk, user=supervisor, reason=" ")
    services.outbox_skip(message_id=rejected.pk, user=supervisor, reason="Booked by hand in the ERP")
    rejected.refresh_from_db()
    assert rejected.status == M.SKIPPED
    fake_erp.catalog(materials=None)
    services.outbox_retry(
        message_id=OutboxMessage.objects.filter(status=M.REJECTED).first().pk, user=supervisor, reason="x"
    )
    _deliver_all()
    done = OutboxMessage.objects.filter(status=M.ACKNOWLEDGED).first()
    with pytest.raises(IllegalTransition):
        services.outbox_retry(message_id=done.pk, user=supervisor, reason="again")


def test_reconciliation_highlights_orders_whose_erp_totals_differ_and_exports_csv(
    client_for, supervisor, started, fake_erp
):
    started.good(5)
    started.scrap(1)
    _deliver_all()
    (row,) = selectors.reconciliation(user=supervisor)
    assert (row.mes_good, row.erp_good, row.mes_scrap, row.erp_scrap) == (5, 5, 1, 1) and row.matches
    started.good(2)  # not delivered yet
    (row,) = selectors.reconciliation(user=supervisor, mismatches_only=True)
    assert row.good_difference == 2 and row.in_queue == 1
    client = client_for(supervisor)
    html = client.get("/integration/").content.decode()
    assert f'data-order="{started.order.number}" data-matches="no"' in html
    response = client.get("/integration/reconciliation.csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert (
        rows[0]["order"] == started.order.number
        and rows[0]["good_difference"] == "2"
        and rows[0]["matches"] == "no"
    )


def test_reconciliation_is_one_query(started, supervisor, django_assert_num_queries):
    started.good(1)
    with django_assert_num_queries(1):
        selectors.reconciliation(user=supervisor)


def test_operators_may_not_open_the_console_and_auditors_may_not_retry(
    client_for, operator, make_user, started
):
    assert client_for(operator).get("/integration/").status_code == 403
    auditor = make_user(roles.AUDITOR, username="ada")
    client = client_for(auditor)
    assert client.get("/integration/").status_code == 200
    message = OutboxMessage.objects.first()
    assert client.post(f"/integration/messages/{message.pk}/skip/", {"reason": "x"}).status_code == 403


def test_seed_demo_points_the_endpoint_at_the_fake_erp_and_delivers(started, fake_erp, settings, monkeypatch):
    from integration import demo, embedded
    from integration.config import erp_config
    from integration.models import ErpEndpoint

    settings.ERP_URL = ""
    monkeypatch.setenv("FAKE_ERP_URL", fake_erp.url)
    started.good(2)
    lines = []
    try:
        demo.quiet(lines.append)
        demo.seed_integration(lines.append)
    finally:
        embedded.enabled = True
    assert ErpEndpoint.objects.get().url == fake_erp.url
    assert erp_config().source == "endpoint fake-erp"
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {M.ACKNOWLEDGED}
    assert any("acknowledged" in line for line in lines)


def test_a_dead_letter_alerts_the_people_who_resolve_messages(
    client_for, make_user, started, fake_erp, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.ERP_MAX_ATTEMPTS = 1
    sam = make_user(roles.SUPERVISOR, username="sam-mail", email="sam@plant.example")
    make_user(roles.SUPERVISOR, username="no-address")  # nobody to mail
    make_user(roles.OPERATOR, username="otto", email="otto@plant.example")  # may not resolve
    fake_erp.faults(error_rate=1.0)
    started.good(3)
    with django_capture_on_commit_callbacks(execute=True):
        report = services.outbox_deliver_due()
    assert report.dead >= 1
    [mail] = mailoutbox
    assert mail.to == ["sam@plant.example"]
    assert "need attention" in mail.subject and started.order.number in mail.body
    assert "/integration/" in mail.body

    # Until someone retries or skips them, the console's entry carries the count on every page.
    page = client_for(sam).get("/board/").content.decode()
    assert f'<span class="nav-badge" title="{report.dead} waiting for a person">{report.dead}</span>' in page

    # A later round with nothing newly dead sends nothing more.
    fake_erp.faults()
    with django_capture_on_commit_callbacks(execute=True):
        services.outbox_deliver_due()
    assert len(mailoutbox) == 1


def _dead_letter(started) -> OutboxMessage:
    started.good(1)
    message = OutboxMessage.objects.first()
    OutboxMessage.objects.filter(pk=message.pk).update(status=M.DEAD, last_error="ERP answered 500")
    return message


def test_a_retry_without_a_reason_shows_the_refusal_at_the_reason_field(client_for, supervisor, started):
    message = _dead_letter(started)

    response = client_for(supervisor).post(f"/integration/messages/{message.pk}/retry/", {"reason": "  "})

    assert response.status_code == 400
    html = response.content.decode()
    card = html[html.index(f'id="message-{message.pk}"') :]
    assert (
        '<input name="reason" required placeholder="Why retry or skip?" value="  " aria-invalid="true"'
        in card
    )
    assert (
        f'<p class="error" id="reason-error-{message.pk}" role="alert">Say why you retry this message.</p>'
        in card
    )
    message.refresh_from_db()
    assert message.status == M.DEAD


def test_a_refused_htmx_retry_answers_the_card_with_what_was_typed_and_a_notice(
    client_for, supervisor, started
):
    message = _dead_letter(started)
    client = client_for(supervisor)
    url = f"/integration/messages/{message.pk}/retry/"
    # Someone else booked it meanwhile: the retry is refused, the reason typed stays in the card.
    OutboxMessage.objects.filter(pk=message.pk).update(status=M.SKIPPED)

    response = client.post(url, {"reason": "ERP back after maintenance"}, headers={"HX-Request": "true"})

    assert response.status_code == 409
    html = response.content.decode()
    assert "<h1>" not in html and f'id="message-{message.pk}"' in html
    assert 'value="ERP back after maintenance"' in html
    assert "it can&#x27;t be retried" in html
    notice = json.loads(response["HX-Trigger"])["mes:notice"]
    assert notice["level"] == "error" and "can't be retried" in notice["message"]


def test_an_htmx_retry_removes_the_card_and_says_what_became_of_the_message(client_for, supervisor, started):
    message = _dead_letter(started)

    response = client_for(supervisor).post(
        f"/integration/messages/{message.pk}/retry/", {"reason": "ERP back"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200 and response.content == b""
    assert json.loads(response["HX-Trigger"]) == {
        "mes:notice": {"level": "success", "message": f"Message {message.pk}: pending."}
    }
