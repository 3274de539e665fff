"""What the tablet's pages answer around the operator's work: the badge sign-in after a session
ends on a bound tablet, the service worker's script, and the other orders running at a start."""

import pytest

from workorders import services
from workorders.selectors.tablet import running_besides
from workorders.tests.factories import key, released_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def bound_tablet(supervisor, client_for, workstation):
    """A browser on which a supervisor bound this tablet to the workstation, then signed out."""
    tablet = client_for(supervisor)
    assert tablet.post("/tablets/", {"workstation": workstation.pk, "name": "Tablet 1"}).status_code == 302
    tablet.post("/logout/")
    return tablet


def test_a_bound_tablet_without_a_session_goes_to_the_badge_sign_in_not_the_desk_login(bound_tablet):
    for path in ("/workstation/", "/board/"):
        response = bound_tablet.get(path)
        assert response.status_code == 302
        assert response["Location"] == "/tablet/sign-in/?expired=1", path


def test_a_poll_on_a_bound_tablet_without_a_session_is_sent_to_the_badge_sign_in(bound_tablet):
    response = bound_tablet.get("/workstation/", headers={"HX-Request": "true", "X-MES-Poll": "1"})
    assert response.status_code == 401
    assert response["HX-Redirect"] == "/tablet/sign-in/"


def test_an_unbound_browser_still_goes_to_the_desk_login(client):
    response = client.get("/board/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_service_worker_is_served_under_the_tablet_pages_and_never_stale(client):
    response = client.get("/workstation/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    assert b'addEventListener("fetch"' in response.content
    assert client.post("/workstation/sw.js").status_code == 405


def test_a_start_names_the_orders_already_running_at_the_workstation(supervisor, operator, workstation):
    first = released_order(user=supervisor, workstations=[workstation], quantity=5).operations.get()
    second = released_order(user=supervisor, workstations=[workstation], quantity=5).operations.get()
    assert running_besides(second) == []
    services.operation_start(operation_id=first.pk, workstation=workstation, user=operator, key=key())
    assert running_besides(second) == [first]
    assert running_besides(first) == []
