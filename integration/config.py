"""Which ERP the outbox delivers to, and how: from the environment, else from the endpoint record.

`ERP_URL` (with `ERP_CONNECTOR`, `ERP_AUTH_HEADER`, `ERP_TIMEOUT`) wins when set; otherwise the
active `ErpEndpoint` row (the demo points one at the fake ERP). With neither, messages wait as
pending, visible on the console, until an ERP is configured.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from integration.models import ErpEndpoint


@dataclass(frozen=True)
class ErpConfig:
    connector: str
    url: str
    auth_header: str = ""
    timeout: float = 10.0
    source: str = "environment"


def erp_config() -> ErpConfig | None:
    if settings.ERP_URL:
        return ErpConfig(
            connector=settings.ERP_CONNECTOR,
            url=settings.ERP_URL,
            auth_header=settings.ERP_AUTH_HEADER,
            timeout=float(settings.ERP_TIMEOUT),
        )
    endpoint = ErpEndpoint.objects.filter(active=True).order_by("pk").first()
    if endpoint is None:
        return None
    return ErpConfig(
        connector=endpoint.connector,
        url=endpoint.url,
        auth_header=endpoint.auth_header,
        timeout=float(endpoint.timeout_seconds),
        source=f"endpoint {endpoint.name}",
    )
