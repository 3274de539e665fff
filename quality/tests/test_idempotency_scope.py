"""Quality requests follow the one idempotency rule: a key belongs to the person who first sent
it, so someone else's request under it is refused with a 409 naming `idempotency_key` and gets
nothing of the first request back; its author's retry, with blanks around the text, replays."""

from __future__ import annotations

import pytest

from mes.errors import Conflict
from quality import services
from quality.models import Hold, Nonconformance, QualityRequest
from quality.tests.conftest import key


def open_nc(client, site, tap, title="Burr on the flange"):
    body = {"idempotency_key": str(tap), "site": site.pk, "title": title}
    return client.post("/api/v1/nonconformances/", body, content_type="application/json")


def test_another_persons_key_is_refused_and_nothing_is_opened(site, supervisor, quality_user, client_for):
    tap = key()
    first = open_nc(client_for(supervisor), site, tap)
    assert first.status_code == 201, first.content

    resent = open_nc(client_for(quality_user), site, tap)

    assert resent.status_code == 409, resent.content
    assert resent.json()["code"] == "key_of_another" and list(resent.json()["errors"]) == ["idempotency_key"]
    assert first.json()["number"] not in resent.content.decode()
    assert Nonconformance.objects.count() == 1 and QualityRequest.objects.count() == 1
    assert QualityRequest.objects.get().user == supervisor
    retried = open_nc(client_for(supervisor), site, tap, title="  Burr on the flange ")
    assert (retried.status_code, retried.json()["id"]) == (200, first.json()["id"])


def test_a_hold_release_under_another_persons_key_asks_for_no_password(
    order, quality_user, second_quality_user
):
    """The key is checked before the signature: someone else's key is refused outright."""
    placed = services.hold_place(key=key(), user=quality_user, work_order=order, reason="Check welds")
    tap = key()
    services.hold_release(
        hold_id=placed.result_id, user=quality_user, reason="Welds fine", key=tap, password="pass-word-1"
    )

    with pytest.raises(Conflict) as refused:
        services.hold_release(
            hold_id=placed.result_id, user=second_quality_user, reason="Welds fine", key=tap, password="wrong"
        )

    assert (refused.value.field, refused.value.code) == ("idempotency_key", "key_of_another")
    assert Hold.objects.get().released_by == quality_user
