"""What the plant's monitoring scrapes at `/metrics` (Prometheus text format, prometheus-client).

Two kinds of figures:

- **Counted where they happen**: request latency by view, production events by kind, ERP delivery
  attempts, MQTT messages, sign-in failures, connected dashboards. They live in the process that
  counts them. With `PROMETHEUS_MULTIPROC_DIR` set (the Procfile topology: `make plant`), every
  process of the machine (web workers, Celery workers, the MQTT ingestor) writes them to that
  directory and any web worker's `/metrics` sums them; without it (the embedded `make run`, one
  process) they stay in memory.
- **Read from the database at scrape time**: outbox depth and oldest pending age, dead letters,
  report jobs queued and running, the age of the last audit seal. They are the truth shared by
  all processes, so no process has to keep them; each app registers its own with
  `register_scrape` (the kernel does not import the apps that build on it).

`/metrics` answers only a client that sends `Authorization: Bearer <METRICS_TOKEN>` or whose
address is in `METRICS_ALLOWED_NETWORKS` (loopback by default).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

REQUEST_SECONDS = Histogram(
    "mes_http_request_duration_seconds",
    "Time from the request reaching Django to its response, by view (URL name) and method.",
    ["view", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PRODUCTION_EVENTS = Counter("mes_production_events", "Production ledger events committed, by kind.", ["kind"])
ERP_DELIVERY_ATTEMPTS = Counter(
    "mes_erp_delivery_attempts",
    "Outbox messages sent to the ERP, by outcome (acknowledged, rejected, failed: retried later).",
    ["outcome"],
)
MQTT_MESSAGES = Counter(
    "mes_mqtt_messages",
    "Machine messages read from MQTT, by outcome (recorded, duplicate, refused).",
    ["outcome"],
)
SIGN_IN_FAILURES = Counter(
    "mes_sign_in_failures", "Sign-in attempts refused, by way in and outcome.", ["way", "outcome"]
)
DASHBOARDS_CONNECTED = Gauge(
    "mes_live_dashboards_connected", "Live dashboards with an open websocket.", multiprocess_mode="livesum"
)

ScrapeFunction = Callable[[], Iterable[Metric]]
_scrapes: list[ScrapeFunction] = []


def register_scrape(function: ScrapeFunction) -> None:
    """Add figures read at scrape time (from the database); called from an app's `ready()`."""
    if function not in _scrapes:
        _scrapes.append(function)


def gauges(prefix: str, documented: dict[str, str], read: Callable[[], dict[str, float]]) -> ScrapeFunction:
    """A scrape function giving one gauge per key of `read()`'s answer, named `prefix_<key>` and
    described by `documented[key]`."""

    def scrape() -> Iterable[Metric]:
        values = read()
        for key, help_text in documented.items():
            yield GaugeMetricFamily(f"{prefix}_{key}", help_text, value=values[key])

    return scrape


class _ScrapeCollector:
    def describe(self):
        return []  # nothing to read at registration (the apps may not be ready yet)

    def collect(self):
        for function in _scrapes:
            yield from function()


_SCRAPE = _ScrapeCollector()
_MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
if not _MULTIPROCESS:
    REGISTRY.register(_SCRAPE)


def _registry() -> CollectorRegistry:
    """This process's registry, or (multi-process) one summing every process's files, per scrape."""
    if not _MULTIPROCESS:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(_SCRAPE)
    return registry


def _address_allowed(address: str) -> bool:
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(
        client in ipaddress.ip_network(network, strict=False) for network in settings.METRICS_ALLOWED_NETWORKS
    )


@require_GET
def serve(request) -> HttpResponse:
    """The metrics, to a client with the token or from an allowed address; else 401/403 saying why."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        expected = settings.METRICS_TOKEN
        if (
            scheme.lower() != "bearer"
            or not expected
            or not hmac.compare_digest(token.encode(), expected.encode())
        ):
            return HttpResponse(
                "metrics: the bearer token is wrong (or no METRICS_TOKEN is configured)\n",
                status=401,
                content_type="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    elif not _address_allowed(request.META.get("REMOTE_ADDR", "")):
        return HttpResponse(
            "metrics: this address is not in METRICS_ALLOWED_NETWORKS; send Authorization: Bearer <METRICS_TOKEN>\n",
            status=403,
            content_type="text/plain",
        )
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


class RequestMetricsMiddleware:
    """Times every request into `mes_http_request_duration_seconds` by its view's URL name."""

    def __init__(self, get_response):
        self.get_response = get_response
        # The histogram of each (view, method), found once: `labels()` checks and locks on
        # every call, and the set of views is fixed by the URL configuration.
        self.series: dict[tuple[str, str], Histogram] = {}

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        key = (match.view_name if match is not None else "unmatched", request.method)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = REQUEST_SECONDS.labels(view=key[0], method=key[1])
        series.observe(time.perf_counter() - started)
        return response
