"""Hostile input at the HTTP level: bounded pages, validated filters, NUL characters, deep JSON,
bounded OEE windows and audit paging, desk filters. Each answer is a 4xx naming the field and
the reason, never a 500, and a refused write leaves every table as it was."""

from __future__ import annotations

import datetime as dt
import json
import time
from urllib.parse import quote

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from mes import roles
from mes.models import Shift
from mes.pagination import MAX_LIMIT
from mes.parsers import MAX_DEPTH
from mes.selectors import SHIFT_WINDOW_MAX_DAYS
from mes.tests.rows import changed, row_counts
from traceability.api_audit import MAX_OFFSET as AUDIT_MAX_OFFSET
from traceability.audit_views import MAX_PAGE
from workorders.tests.factories import key, reasons, released_order

BIGINT = 2**63


def api_as(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def admin(make_user):
    return make_user(roles.ADMIN, username="ada")


@pytest.fixture
def api(admin):
    return api_as(admin)


@pytest.fixture
def order(supervisor, workstation):
    reasons()
    return released_order(user=supervisor, workstations=[workstation], quantity=10, number="WO-1")


def refused(response, field: str, status: int = 400) -> str:
    """The reason the API gave for `field`, after checking the error format."""
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert body["detail"] and body["code"], body
    assert field in body["errors"], body
    return body["errors"][field][0]


# --- pages --------------------------------------------------------------------------------------------


def _list_urls() -> list[str]:
    """Every list endpoint of the API (a viewset route answering GET with `list`)."""
    urls = []

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif (
                isinstance(p, URLPattern)
                and (getattr(p.callback, "actions", None) or {}).get("get") == "list"
            ):
                route = (prefix + str(p.pattern)).replace("^", "").replace("$", "")
                if route.startswith("api/") and "(?P<format>" not in route:
                    urls.append("/" + route)

    walk(get_resolver().url_patterns)
    return urls


def test_every_list_refuses_a_page_larger_than_the_cap(api):
    urls = _list_urls()
    assert "/api/v1/events/" in urls and "/api/v1/lots/" in urls
    for url in urls:
        reason = refused(api.get(url, {"limit": MAX_LIMIT + 1}), "limit")
        assert "1 to 1000" in reason, url
        assert api.get(url, {"limit": MAX_LIMIT}).status_code == 200, url


def test_a_page_holds_at_most_the_limit_asked_and_100_by_default(api, order, operator, workstation):
    from workorders import services

    operation = order.operations.get()
    services.event_record(
        user=operator,
        workstation=workstation,
        data={"kind": "start", "operation": operation.pk, "idempotency_key": key()},
    )
    page = api.get("/api/v1/events/", {"limit": 1}).json()
    assert len(page["results"]) == 1 and page["next"]
    assert api.get("/api/v1/events/").json()["count"] == page["count"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "abc"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "-5"}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"limit": "100000000"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "x"}, "offset"),
        ({"offset": str(BIGINT)}, "offset"),
        ({"offset": "9" * 5000}, "offset"),
    ],
)
def test_a_limit_or_offset_that_is_not_a_whole_number_in_range_is_refused(api, query, field):
    assert "whole number" in refused(api.get("/api/v1/events/", query), field)


@pytest.mark.postgres
def test_a_limit_past_64_bits_is_refused_not_sent_to_the_database(api, order):
    """It answered 500 on PostgreSQL: bigint out of range."""
    for url in ("/api/v1/events/", "/api/v1/work-orders/", "/api/v1/lots/"):
        refused(api.get(url, {"limit": str(BIGINT)}), "limit")


# --- filters ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "query", "field"),
    [
        ("/api/v1/events/", {"workstation": "abc"}, "workstation"),
        ("/api/v1/events/", {"work_order": "1.5"}, "work_order"),
        ("/api/v1/events/", {"operation": str(BIGINT)}, "operation"),
        ("/api/v1/events/", {"kind": "explode"}, "kind"),
        ("/api/v1/work-orders/", {"line": "abc"}, "line"),
        ("/api/v1/work-orders/", {"status": "released,bogus"}, "status"),
        ("/api/v1/lots/", {"product": "abc"}, "product"),
        ("/api/v1/lots/", {"work_order": "-3"}, "work_order"),
        ("/api/v1/lots/", {"status": "gone"}, "status"),
        ("/api/v1/reason-codes/", {"kind": "whatever"}, "kind"),
        ("/api/v1/nonconformances/", {"status": "nope"}, "status"),
        ("/api/v1/holds/", {"status": "nope"}, "status"),
    ],
)
def test_a_filter_of_the_wrong_type_is_refused_naming_it(api, url, query, field):
    refused(api.get(url, query), field)


def test_filters_still_filter(api, order):
    line = order.line_id
    assert [o["number"] for o in api.get("/api/v1/work-orders/", {"line": line}).json()["results"]] == [
        "WO-1"
    ]
    assert api.get("/api/v1/work-orders/", {"line": line + 1000}).json()["results"] == []
    found = api.get("/api/v1/work-orders/", {"status": "draft,released"}).json()["results"]
    assert [o["number"] for o in found] == ["WO-1"]
    assert api.get("/api/v1/work-orders/", {"status": "completed"}).json()["results"] == []
    assert api.get("/api/v1/work-orders/", {"status": "released,"}).status_code == 200
    assert api.get("/api/v1/work-orders/", {"status": "", "line": ""}).json()["count"] == 1


@pytest.mark.parametrize("url", ["/api/v1/events/?workstation=abc", "/api/v1/work-orders/?line=abc"])
def test_without_the_permission_the_answer_is_403_whatever_the_filter(operator, url):
    response = api_as(operator).get(url)
    assert response.status_code == 403, response.content[:300]


# --- NUL --------------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/lots/?part_number=%00", "part_number"),
        ("/api/v1/trace/%00/", "path"),
        ("/api/v1/lots/%00/", "path"),
        ("/api/v1/work-orders/?%00=1", "query"),
    ],
)
def test_a_nul_in_the_path_or_query_is_refused(api, url, field):
    """PostgreSQL refuses NUL in text: these answered 500."""
    assert "NUL" in refused(api.get(url), field)


@pytest.mark.postgres
def test_a_nul_in_a_json_field_is_refused_naming_it_and_writes_nothing(api, order):
    before = row_counts()
    response = api.post(
        "/api/v1/nonconformances/",
        {"title": "Scratch\x00", "work_order": order.pk, "idempotency_key": str(key())},
        format="json",
    )
    assert "NUL" in refused(response, "title")
    assert not changed(before, row_counts())


@pytest.mark.postgres
def test_a_nul_in_a_form_field_or_a_desk_page_is_refused(admin, client_for, order):
    desk = client_for(admin)
    before = row_counts()
    response = desk.post("/api/v1/holds/", {"work_order": order.pk, "reason": "a\x00b"})
    assert "NUL" in refused(response, "reason")
    for url in ("/trace/?q=%00", "/lots/%00/label.pdf", "/audit/?record=%00"):
        page = desk.get(url)
        assert page.status_code == 400 and b"NUL" in page.content, url
    assert not changed(before, row_counts(), allowed=("django_session",))


# --- deep JSON, huge numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 10_000])
def test_json_nested_too_deep_is_refused_and_writes_nothing(admin, workstation, depth):
    body = "[" * depth + "]" * depth
    client = api_as(admin)
    before = row_counts()
    response = client.post("/api/v1/events/", body, content_type="application/json")
    assert f"deeper than {MAX_DEPTH}" in refused(response, "body")
    assert not changed(before, row_counts())


def test_json_nested_within_the_limit_reaches_the_view(api):
    nested: object = "x"
    for _ in range(MAX_DEPTH - 2):
        nested = [nested]
    response = api.post("/api/v1/nonconformances/", {"title": nested}, format="json")
    assert response.status_code == 400 and "title" in response.json()["errors"]


def test_a_number_past_64_bits_or_half_a_surrogate_is_refused(api, order):
    before = row_counts()
    huge = api.post(
        "/api/v1/holds/", json.dumps({"work_order": BIGINT, "reason": "x"}), content_type="application/json"
    )
    assert "too large" in refused(huge, "work_order")
    surrogate = api.post(
        "/api/v1/holds/", '{"work_order": 1, "reason": "\\ud800"}', content_type="application/json"
    )
    assert "Unicode" in refused(surrogate, "reason")
    assert not changed(before, row_counts())


# --- OEE and other long work --------------------------------------------------------------------------------


@pytest.fixture
def night_shift(workstation):
    """A shift past midnight every day: each occurrence ends on the next calendar day."""
    return Shift.objects.create(
        site=workstation.line.site,
        name="Night",
        start_time=dt.time(22),
        end_time=dt.time(6),
        weekdays="1234567",
    )


def test_an_oee_window_of_centuries_is_refused_at_once(make_user, client_for, workstation, night_shift):
    """It ran 110 s and answered 500 (OverflowError in the shift windows)."""
    client = client_for(make_user(roles.SUPERVISOR))
    started = time.monotonic()
    response = client.get(
        "/api/v1/oee/",
        {
            "workstation": workstation.pk,
            "start": "2026-01-01T00:00:00+00:00",
            "end": "9999-12-31T00:00:00+00:00",
        },
    )
    assert f"{SHIFT_WINDOW_MAX_DAYS} days" in refused(response, "end")
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2025-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00"),  # 366 days
        ("9999-01-01T00:00:00+00:00", "9999-12-31T23:00:00+00:00"),  # the calendar's last day
        ("0001-01-01T00:00:00+00:00", "0001-12-31T00:00:00+00:00"),  # and its first
    ],
)
def test_an_oee_window_of_up_to_a_year_is_answered_even_at_the_calendar_edges(
    make_user, client_for, workstation, night_shift, start, end
):
    client = client_for(make_user(roles.SUPERVISOR))
    response = client.get("/api/v1/oee/", {"workstation": workstation.pk, "start": start, "end": end})
    assert response.status_code == 200, response.content[:300]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"workstation": "abc"}, "workstation"),
        ({"line": "1.5"}, "line"),
        ({"workstation": str(BIGINT)}, "workstation"),
        ({"start": "2026-02-31T00:00:00+00:00"}, "start"),
    ],
)
def test_oee_parameters_of_the_wrong_type_are_refused(make_user, client_for, workstation, query, field):
    window = {
        "workstation": workstation.pk,
        "start": "2026-01-01T00:00:00+00:00",
        "end": "2026-01-02T00:00:00+00:00",
    }
    if "line" in query:
        window.pop("workstation")
    client = client_for(make_user(roles.SUPERVISOR))
    refused(client.get("/api/v1/oee/", {**window, **query}), field)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"offset": str(AUDIT_MAX_OFFSET + 1)}, "offset"),
        ({"offset": str(BIGINT)}, "offset"),
        ({"limit": str(BIGINT)}, "limit"),
        ({"model": "workorders.lot", "record": "²"}, "record"),
        ({"model": "workorders.lot", "record": "9" * 5000}, "record"),
        ({"user": "²"}, "user"),
        ({"start": "2026-02-31"}, "start"),
    ],
)
def test_audit_trail_api_refuses_deep_pages_and_bad_filters(make_user, query, field):
    auditor = make_user(roles.AUDITOR)
    refused(api_as(auditor).get("/api/v1/audit/", query), field)


def test_audit_trail_reaches_the_calendar_end(make_user):
    auditor = make_user(roles.AUDITOR)
    assert api_as(auditor).get("/api/v1/audit/", {"end": "9999-12-31"}).status_code == 200


@pytest.mark.parametrize("page", ["²", "0", "-1", str(MAX_PAGE + 1), str(BIGINT), "9" * 5000])
def test_audit_trail_pages_refuse_a_page_out_of_range(make_user, client_for, page):
    client = client_for(make_user(roles.AUDITOR))
    trail = client.get("/audit/", {"page": page})
    assert trail.status_code == 400 and b"Pages go from 1 to" in trail.content


# --- desk pages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [({"line": "abc"}, "line"), ({"line": "²"}, "line"), ({"due_before": "2026-02-31"}, "due_before")],
)
def test_the_board_leaves_out_a_bad_filter_with_a_message(supervisor, client_for, order, query, field):
    page = client_for(supervisor).get("/board/", query)
    assert page.status_code == 400
    assert f"The filter {field} is left out".encode() in page.content
    assert b"WO-1" in page.content  # the rest of the board is still there


def test_the_board_still_filters(supervisor, client_for, order):
    client = client_for(supervisor)
    assert b"WO-1" in client.get("/board/", {"line": order.line_id, "status": ["", "released"]}).content
    assert b"WO-1" not in client.get("/board/", {"status": "completed"}).content


def test_a_wall_screen_rotation_out_of_range_turns_rotation_off(supervisor, client_for, workstation):
    client = client_for(supervisor)
    url = f"/live/sites/{workstation.line.site_id}/"
    for rotate in ("²", "9" * 5000, "4", "x"):
        assert client.get(url, {"rotate": rotate}).status_code == 200


def test_a_trace_path_with_unicode_is_a_clean_404(make_user):
    auditor = make_user(roles.AUDITOR)
    response = api_as(auditor).get("/api/v1/trace/" + quote("🏭²") + "/")
    assert response.status_code == 404
