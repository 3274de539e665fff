"""Shift handover: the outgoing person leaves notes at the tablet, the incoming person sees them
at sign-in and acknowledges, and what nobody has read waits on the supervisor's board."""

import re
import uuid

import pytest

from mes import roles
from mes.tests.factories import LineFactory, SiteFactory, WorkstationFactory
from workorders.models import Handover, HandoverAcknowledgement
from workorders.services.handover import handover_leave

NEW = "/workstation/handovers/new/"
INBOX = "/workstation/handovers/"
QUEUE = "/workstation/"
BOARD_PANEL = "/board/handovers/"


def bind(client_for, supervisor, workstation):
    """A browser bound to `workstation` by a supervisor, who then signed out."""
    browser = client_for(supervisor)
    assert browser.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet"}).status_code == 302
    browser.post("/logout/")
    return browser


def badge_in(browser, badge, pin):
    response = browser.post("/tablet/sign-in/", {"badge_number": badge, "pin": pin})
    assert response.status_code == 302, response.content
    return browser


@pytest.fixture
def pete(make_user):
    return make_user(roles.OPERATOR, username="pete", badge=("1003", "3456"))


@pytest.fixture
def outgoing(client_for, supervisor, workstation, operator):
    return badge_in(bind(client_for, supervisor, workstation), "1001", "1234")


@pytest.fixture
def incoming(client_for, supervisor, workstation, pete):
    return badge_in(bind(client_for, supervisor, workstation), "1003", "3456")


def leave(browser, key=None, **notes):
    data = {"scope": "workstation", "idempotency_key": str(key or uuid.uuid4()), **notes}
    return browser.post(NEW, data)


def field_error(html: str) -> str | None:
    found = re.search(r'class="form-error" role="alert" data-field="([a-z_]+)"', html)
    return found.group(1) if found else None


# --- leaving a handover -------------------------------------------------------------------------


def test_the_queue_offers_leaving_a_handover(outgoing):
    page = outgoing.get(QUEUE).content.decode()
    assert f'href="{NEW}"' in page
    form = outgoing.get(NEW)
    assert form.status_code == 200
    assert re.search(r'name="idempotency_key" value="[0-9a-f-]{36}"', form.content.decode())


def test_a_handover_is_kept_with_its_author_workstation_and_notes(outgoing, operator, workstation):
    response = leave(
        outgoing, open_issues="Order WO-7 waits for the second fixture.", material="Bar stock low"
    )
    assert (response.status_code, response["Location"]) == (302, QUEUE)
    handover = Handover.objects.get()
    assert (handover.author, handover.workstation, handover.line) == (operator, workstation, workstation.line)
    assert handover.notes == [
        ("Open issues", "Order WO-7 waits for the second fixture."),
        ("Material", "Bar stock low"),
    ]
    assert handover.history.get().history_user == operator


def test_a_handover_sent_twice_is_kept_once(outgoing):
    key = uuid.uuid4()
    leave(outgoing, key=key, machine_condition="Coolant pump noisy")
    again = leave(outgoing, key=key, machine_condition="Coolant pump noisy")
    assert again.status_code == 302
    assert Handover.objects.count() == 1
    other = leave(outgoing, key=key, machine_condition="Something else")
    assert other.status_code == 409
    assert field_error(other.content.decode()) == "idempotency_key"
    assert Handover.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "open_issues"),  # no note at all
        ({"open_issues": "   "}, "open_issues"),
        ({"material": "x" * 2001}, "material"),
        ({"quality_watch_outs": "ok", "scope": "plant"}, "scope"),
        ({"open_issues": "ok", "idempotency_key": "not-a-key"}, "idempotency_key"),
    ],
)
def test_bad_input_is_refused_at_its_field_and_nothing_is_written(outgoing, data, field):
    response = leave(outgoing, **data)
    assert response.status_code == 400
    assert field_error(response.content.decode()) == field
    assert not Handover.objects.exists()


def test_a_nul_character_is_refused_naming_the_field(outgoing):
    response = leave(outgoing, quality_watch_outs="bad\x00byte")
    assert response.status_code == 400
    assert "quality_watch_outs" in response.content.decode()
    assert not Handover.objects.exists()


def test_a_refused_handover_keeps_what_was_typed(outgoing):
    response = leave(outgoing, material="Bar stock low", scope="plant")
    assert response.status_code == 400
    assert "Bar stock low</textarea>" in response.content.decode()


# --- the next shift at sign-in ------------------------------------------------------------------


def test_the_next_person_sees_the_handover_after_sign_in_and_acknowledges_it(
    outgoing, incoming, pete, workstation
):
    leave(outgoing, quality_watch_outs="Check the bore on every 5th part")
    handover = Handover.objects.get()

    first = incoming.get(QUEUE)
    assert (first.status_code, first["Location"]) == (302, INBOX)
    inbox = incoming.get(INBOX).content.decode()
    assert "Check the bore on every 5th part" in inbox
    assert f'action="/workstation/handovers/{handover.pk}/acknowledge/"' in inbox

    done = incoming.post(f"/workstation/handovers/{handover.pk}/acknowledge/")
    assert (done.status_code, done["Location"]) == (302, QUEUE)
    ack = HandoverAcknowledgement.objects.get()
    assert (ack.handover, ack.user, ack.workstation) == (handover, pete, workstation)
    assert ack.acknowledged_at is not None
    assert ack.history.get().history_user == pete
    assert incoming.get(QUEUE).status_code == 200
    # A second tap on the button is the same acknowledgement.
    incoming.post(f"/workstation/handovers/{handover.pk}/acknowledge/")
    assert HandoverAcknowledgement.objects.count() == 1


def test_later_goes_on_to_the_queue_and_the_handover_keeps_waiting(outgoing, incoming):
    leave(outgoing, open_issues="Fixture 2 is loose")
    assert incoming.get(QUEUE)["Location"] == INBOX
    incoming.get(INBOX)
    assert incoming.get(QUEUE).status_code == 200  # shown once this session
    assert not HandoverAcknowledgement.objects.exists()


def test_the_author_is_not_sent_to_their_own_handover_nor_may_acknowledge_it(outgoing):
    leave(outgoing, open_issues="Fixture 2 is loose")
    handover = Handover.objects.get()
    assert outgoing.get(QUEUE).status_code == 200
    refused = outgoing.post(f"/workstation/handovers/{handover.pk}/acknowledge/")
    assert refused.status_code == 409
    assert not HandoverAcknowledgement.objects.exists()


def test_a_line_handover_waits_at_every_workstation_of_the_line_only(
    client_for, supervisor, outgoing, workstation, pete
):
    leave(outgoing, open_issues="Line stops at 14:00 for cleaning", scope="line")
    neighbour = WorkstationFactory(line=workstation.line, code="CNC2")
    elsewhere = WorkstationFactory(line=LineFactory(site=workstation.line.site), code="ASM1")
    at_neighbour = badge_in(bind(client_for, supervisor, neighbour), "1003", "3456")
    assert at_neighbour.get(QUEUE)["Location"] == INBOX
    at_elsewhere = badge_in(bind(client_for, supervisor, elsewhere), "1003", "3456")
    assert at_elsewhere.get(QUEUE).status_code == 200
    handover = Handover.objects.get()
    assert at_elsewhere.post(f"/workstation/handovers/{handover.pk}/acknowledge/").status_code == 404


# --- the supervisor's board ---------------------------------------------------------------------


def test_the_board_shows_unacknowledged_handovers_of_the_supervisors_sites(
    client_for, supervisor, outgoing, incoming, make_user
):
    leave(outgoing, machine_condition="Spindle warm-up takes 20 min")
    board = client_for(supervisor)
    assert BOARD_PANEL in board.get("/board/").content.decode()
    panel = board.get(BOARD_PANEL).content.decode()
    assert "Spindle warm-up takes 20 min" in panel
    other_site = make_user(roles.SUPERVISOR, username="sue", site=SiteFactory(code="PLANT2"))
    assert "Spindle warm-up" not in client_for(other_site).get(BOARD_PANEL).content.decode()

    handover = Handover.objects.get()
    incoming.get(INBOX)
    incoming.post(f"/workstation/handovers/{handover.pk}/acknowledge/")
    assert "Spindle warm-up" not in board.get(BOARD_PANEL).content.decode()


def test_an_operator_may_not_read_the_board_panel(client_for, operator):
    assert client_for(operator).get(BOARD_PANEL).status_code == 403


def test_the_board_panel_reads_a_fixed_number_of_queries(
    client_for, supervisor, operator, workstation, django_assert_max_num_queries
):
    board = client_for(supervisor)
    for n in range(3):
        handover_leave(
            user=operator,
            workstation=workstation,
            scope="line",
            notes={"material": f"Bar {n}"},
            key=uuid.uuid4(),
        )
    board.get(BOARD_PANEL)  # warm the session and permission caches
    with django_assert_max_num_queries(8) as three:
        board.get(BOARD_PANEL)
    for n in range(10):
        handover_leave(
            user=operator,
            workstation=workstation,
            scope="workstation",
            notes={"material": f"Rod {n}"},
            key=uuid.uuid4(),
        )
    with django_assert_max_num_queries(len(three.captured_queries)):
        assert "Rod 9" in board.get(BOARD_PANEL).content.decode()
