"""Helpers shared by the integration tests and the fault tests in `tests/`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from workorders import services
from workorders.tests.factories import key, released_order

BASE_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS = BASE_DIR / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class FakeErpProcess:
    """`manage.py fake_erp --port N` in its own process; a real HTTP server on loopback."""

    def __init__(self, *, port: int | None = None, log_name: str = "fake-erp", extra_args=()):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / f"{log_name}.log"
        self.extra_args = list(extra_args)
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> FakeErpProcess:
        env = dict(os.environ)
        env.setdefault("SECRET_KEY", "fake-erp-test")
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "fake_erp", "--port", str(self.port), *self.extra_args],
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"fake ERP exited: see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/_stats", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"fake ERP did not answer within {timeout} s: see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()

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
