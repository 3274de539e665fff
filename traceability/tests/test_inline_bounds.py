"""A trace too big to answer within one request is refused, naming the lot and pointing at the
report job, instead of keeping the request (and a server thread) busy for minutes."""

from __future__ import annotations

import pytest

from traceability.views import trace as trace_views


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(trace_views, "INLINE_TRACE_LIMIT", 3)


def test_the_trace_api_refuses_a_trace_past_the_inline_limit(genealogy, auditor, client_for, small_limit):
    client = client_for(auditor)
    big = client.get("/api/v1/trace/STEEL-1/", {"direction": "forward"})
    assert big.status_code == 400
    assert big.json()["code"] == "trace_too_large"
    assert "report" in big.json()["errors"]["code"][0]
    small = client.get("/api/v1/trace/SUB-1/", {"direction": "backward"})
    assert small.status_code == 200 and len(small.json()["trace"]["nodes"]) <= 3


@pytest.mark.parametrize("fmt", ["csv", "json", "pdf"])
def test_an_inline_export_past_the_limit_is_refused(genealogy, auditor, client_for, small_limit, fmt):
    response = client_for(auditor).get(f"/trace/STEEL-1/export.{fmt}", {"direction": "forward"})
    assert response.status_code == 400
    assert b"ask for it as a report" in response.content


def test_an_ordinary_trace_is_still_exported_inline(genealogy, auditor, client_for):
    response = client_for(auditor).get("/trace/STEEL-1/export.csv", {"direction": "forward"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
