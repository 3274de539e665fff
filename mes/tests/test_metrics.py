"""/metrics: the Prometheus text format, to the monitoring only; its numbers move with the plant."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.utils.module_loading import import_string
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.django_db


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_request_latency_is_counted_by_view(client):
    before = value(scrape(client), "mes_http_request_duration_seconds_count", view="ping", method="GET")
    for _ in range(3):
        client.get("/ping")  # counted whatever it answers (here 401: nobody signed in)
    after = value(scrape(client), "mes_http_request_duration_seconds_count", view="ping", method="GET")
    assert after - before == 3


def test_an_address_outside_the_allowed_networks_is_refused_and_told_what_to_send(client):
    response = client.get("/metrics", REMOTE_ADDR="10.20.30.40")
    assert response.status_code == 403
    assert "METRICS_ALLOWED_NETWORKS" in response.content.decode()
    assert "mes_http_request" not in response.content.decode()


def test_the_token_opens_metrics_from_anywhere_and_a_wrong_one_is_refused(client, settings):
    settings.METRICS_TOKEN = "s3cret-scraper-token"
    assert (
        "mes_http_request_duration_seconds"
        in client.get(
            "/metrics", REMOTE_ADDR="10.20.30.40", HTTP_AUTHORIZATION="Bearer s3cret-scraper-token"
        ).content.decode()
    )

    for wrong in ("Bearer not-the-token", "Basic czNjcmV0", "Bearer "):
        # wrong even from an allowed address: a scraper with a stale token must hear about it
        response = client.get("/metrics", HTTP_AUTHORIZATION=wrong)
        assert response.status_code == 401
        assert "token is wrong" in response.content.decode()
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_token_sent_where_none_is_configured_is_refused(client, settings):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything")
    assert response.status_code == 401


def test_every_response_names_its_request_id_and_keeps_a_plain_one_the_caller_sent(client):
    offered = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a-0001")
    assert offered["X-Request-ID"] == "lb-7f3a-0001"
    made_up = client.get("/healthz", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    assert made_up["X-Request-ID"] != "<script>alert(1)</script>"
    assert len(made_up["X-Request-ID"]) == 32
    assert client.get("/healthz")["X-Request-ID"] != made_up["X-Request-ID"]


def test_a_log_line_is_one_json_object_with_the_request_it_belongs_to(client, settings, make_user):
    formatter_config = dict(settings.LOGGING["formatters"]["json"])
    formatter_config["fmt"] = formatter_config.pop("format")  # as logging.config passes it
    formatter = import_string(formatter_config.pop("()"))(**formatter_config)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(import_string(settings.LOGGING["filters"]["context"]["()"])())
    logging.getLogger("django.request").addHandler(handler)
    try:
        client.force_login(make_user("operator", username="op-json"))
        client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-42")  # Django logs "Not Found"
    finally:
        logging.getLogger("django.request").removeHandler(handler)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["message"] == "Not Found: /no-such-page/"
    assert (line["request_id"], line["user"], line["level"]) == ("req-42", "op-json", "WARNING")
    assert line["time"].endswith("+00:00")
