"""The taps the tablet offers for an operation are the server's: they follow the operation's
state and its order's, and agree with what the production services accept."""

import json
import re

import pytest

from workorders import services
from workorders.selectors.tablet import ACTIONS_BY_STATE, MOVES
from workorders.states import EventKind, OperationStatus, kind_word
from workorders.tests.factories import key, released_order

TRIED = [EventKind.START, EventKind.PAUSE, EventKind.RESUME, EventKind.GOOD, EventKind.SCRAP]


@pytest.fixture
def tablet(client_for, supervisor, operator, workstation):
    """A browser bound to the workstation, with the operator badged in."""
    browser = client_for(supervisor)
    assert browser.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet 1"}).status_code == 302
    browser.post("/logout/")
    assert browser.post("/tablet/sign-in/", {"badge_number": "1001", "pin": "1234"}).status_code == 302
    return browser


def operation_in(state, *, supervisor, workstation, operator, number):
    op = released_order(user=supervisor, workstations=[workstation], number=number).operations.get()
    ids = {"operation_id": op.pk, "workstation": workstation, "user": operator}
    if state in (OperationStatus.RUNNING, OperationStatus.PAUSED):
        services.operation_start(**ids, key=key())
    if state == OperationStatus.PAUSED:
        services.operation_pause(**ids, key=key(), reason="BREAK")
    op.refresh_from_db()
    assert op.status == state
    return op


def offered(html: str) -> set[str]:
    """The actions of the enabled buttons on the operation screen."""
    buttons = re.findall(r"<button[^>]*\bdata-action=\"(\w+)\"[^>]*>", html)
    enabled = re.findall(r"<button(?![^>]*\bdisabled\b)[^>]*\bdata-action=\"(\w+)\"[^>]*>", html)
    assert buttons, "the operation screen has its action buttons"
    return set(enabled)


@pytest.mark.parametrize("state", [OperationStatus.PENDING, OperationStatus.RUNNING, OperationStatus.PAUSED])
def test_the_screen_offers_what_the_state_allows(tablet, supervisor, workstation, operator, reasons, state):
    op = operation_in(state, supervisor=supervisor, workstation=workstation, operator=operator, number="WO-1")

    html = tablet.get(f"/workstation/operations/{op.pk}/").content.decode()

    allowed = [kind_word(kind) for kind in ACTIONS_BY_STATE[state]]  # the page speaks words ("good")
    assert offered(html) == set(allowed) - {"consume"}  # no BOM: no consume button
    table = json.loads(re.search(r'data-actions="([^"]+)"', html).group(1).replace("&quot;", '"'))
    assert table[state] == allowed
    moves = json.loads(re.search(r'data-moves="([^"]+)"', html).group(1).replace("&quot;", '"'))
    assert moves == {kind_word(kind): str(target) for kind, target in MOVES.items()}


def test_an_order_on_hold_offers_nothing(tablet, supervisor, workstation, operator, reasons):
    op = operation_in(
        OperationStatus.RUNNING,
        supervisor=supervisor,
        workstation=workstation,
        operator=operator,
        number="WO-1",
    )
    services.workorder_transition(
        work_order_id=op.work_order_id, target="on_hold", user=supervisor, key=key(), reason_code="QHOLD"
    )

    html = tablet.get(f"/workstation/operations/{op.pk}/").content.decode()

    assert offered(html) == set()
    assert all(actions == [] for actions in json.loads(
        re.search(r'data-actions="([^"]+)"', html).group(1).replace("&quot;", '"')
    ).values())  # fmt: skip


@pytest.mark.parametrize("state", [OperationStatus.PENDING, OperationStatus.RUNNING, OperationStatus.PAUSED])
def test_the_offered_taps_are_the_ones_the_server_accepts(
    tablet, supervisor, workstation, operator, reasons, state
):
    for n, kind in enumerate(TRIED):
        op = operation_in(
            state, supervisor=supervisor, workstation=workstation, operator=operator, number=f"WO-{n}"
        )
        data = {"kind": kind_word(kind), "operation": op.pk, "idempotency_key": str(key()), "quantity": "1"}
        if kind in (EventKind.PAUSE, EventKind.SCRAP):
            data["reason"] = reasons[kind].code

        response = tablet.post("/workstation/events/", data)

        accepted = response.status_code == 200
        assert accepted == (kind in ACTIONS_BY_STATE[state]), (state, kind, response.content)
        if accepted and kind in MOVES:
            op.refresh_from_db()
            assert op.status == MOVES[kind]
