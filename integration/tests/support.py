"""Helpers shared by the integration tests and the fault tests in `tests/`."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import httpx

from mes.tests.servers import ARTIFACTS, ServerProcess, answers, free_port, server_env
from workorders import services
from workorders.tests.factories import key, released_order


@dataclass
class StartedOrder:
    order: object
    operation: object
    workstation: object
    operator: object

    def good(self, quantity=1, **kw):
        return services.operation_record_good(
            operation_id=self.operation.pk,
            workstation=self.workstation,
            user=self.operator,
            quantity=quantity,
            key=kw.pop("key", None) or key(),
            **kw,
        )

    def scrap(self, quantity=1, reason="SCRATCH", **kw):
        return services.operation_record_scrap(
            operation_id=self.operation.pk,
            workstation=self.workstation,
            user=self.operator,
            quantity=quantity,
            reason=reason,
            key=kw.pop("key", None) or key(),
            **kw,
        )


def start_order(
    *, operator, supervisor, workstation, quantity=1000, number=None, routing=None
) -> StartedOrder:
    kwargs = {"routing": routing} if routing is not None else {"workstations": [workstation]}
    order = released_order(user=supervisor, quantity=quantity, number=number, **kwargs)
    operation = order.operations.order_by("sequence").first()
    services.operation_start(
        operation_id=operation.pk, workstation=operation.workstation, user=operator, key=key()
    )
    order.refresh_from_db()
    return StartedOrder(order, operation, operation.workstation, operator)


class FakeErpProcess(ServerProcess):
    """`manage.py fake_erp --port N` in its own process; a real HTTP server on loopback."""

    def __init__(
        self, *, port: int | None = None, log_name: str = "fake-erp", extra_args=(), timeout: float = 30
    ):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            [sys.executable, "manage.py", "fake_erp", "--port", str(self.port), *extra_args],
            env=server_env(),
            log_path=ARTIFACTS / f"{log_name}.log",
            ready=answers(f"{self.url}/_stats"),
            timeout=timeout,
            name="fake ERP",
        )

    # --- control ---
    def control(self, path: str, body: dict | None = None) -> dict:
        response = httpx.post(f"{self.url}{path}", json=body or {}, timeout=5)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self.control("/_reset")

    def faults(self, **faults) -> dict:
        return self.control("/_faults", faults)

    def catalog(self, **catalog) -> dict:
        return self.control("/_catalog", catalog)

    def stats(self) -> dict:
        return httpx.get(f"{self.url}/_stats", timeout=5).json()

    def order(self, number: str) -> dict:
        return httpx.get(f"{self.url}/orders/{number}", timeout=5).json()
