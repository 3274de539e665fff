"""The fake ERP: a real HTTP server (stdlib) that stands in for the ERP in the demo and the tests.

It accepts both connector formats (`POST /messages` JSON, `POST /b2mml` B2MML XML), applies each
idempotency key once (a repeat gets the first acknowledgement back), refuses unknown materials
and messages for closed orders with a 422 and a business reason, keeps totals per order, and
injects faults on command. Its state lives in memory; it uses no Django and no database.

Control endpoints (never subject to faults):
    GET  /_stats             counts: received, unique (effects), duplicates, rejected, faults
    GET  /_keys              every applied idempotency key
    GET  /orders, /orders/N  totals per order: good (at the last operation), scrap, by operation;
                             labor seconds, by operation and by personnel number, machine seconds
    POST /_faults            {"error_rate", "timeout_rate", "garbage_rate", "slow_seconds",
                              "hang_seconds", "down"}: replaces the current faults
    POST /_catalog           {"materials": [...] or null (any), "closed_orders": [...]}
    POST /_reset             forget everything
"""

from __future__ import annotations

import json
import random
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from integration.fake_erp_formats import Refused, parse_b2mml, parse_json

FAULTS = {
    "error_rate": 0.0,
    "timeout_rate": 0.0,
    "garbage_rate": 0.0,
    "slow_seconds": 0.0,
    "hang_seconds": 30.0,
    "down": False,
}
MESSAGE_TYPES = {"completion", "scrap", "consumption", "order_status", "labor"}


def _order_totals() -> dict:
    return {
        "good": Decimal(0),
        "scrap": Decimal(0),
        "consumed": Decimal(0),
        "good_by_operation": {},
        "scrap_by_operation": {},
        "labor_seconds": 0,
        "labor_by_operation": {},
        "labor_by_person": {},
        "machine_seconds": 0,
        "status": "",
        "status_sequence": -1,
        "messages": 0,
        "last_sequence": 0,
        "out_of_order": 0,
    }


class ErpState:
    def __init__(self, seed: int | None = None):
        self.lock = threading.Lock()
        self.rng = random.Random(seed)
        self.reset()

    def reset(self) -> None:
        self.applied: dict[str, dict] = {}
        self.orders: dict[str, dict] = {}
        self.materials: set[str] | None = None
        self.closed: dict[str, int] = {}
        self.faults = dict(FAULTS)
        self.counts = {
            "received": 0,
            "duplicates": 0,
            "rejected": 0,
            "errors": 0,
            "timeouts": 0,
            "garbage": 0,
        }
        self.reference = 0

    def roll(self, name: str) -> bool:
        rate = float(self.faults.get(name) or 0)
        with self.lock:
            return rate > 0 and self.rng.random() < rate

    def apply(self, message: dict) -> dict:
        """Apply a message once per key; returns its acknowledgement or raises Refused."""
        key = message["key"]
        with self.lock:
            self.counts["received"] += 1
            if key in self.applied:
                self.counts["duplicates"] += 1
                return {**self.applied[key]["ack"], "duplicate": True}
            try:
                self._check(message)
            except Refused:
                self.counts["rejected"] += 1
                raise
            self.reference += 1
            ack = {"status": "acknowledged", "reference": f"ERP-{self.reference:07d}", "duplicate": False}
            self.applied[key] = {"ack": ack, "message": message}
            self._book(message)
            return ack

    def _check(self, m: dict) -> None:
        if m["type"] not in MESSAGE_TYPES:
            raise Refused(422, "unknown_message_type", f"Unknown message type '{m['type']}'.")
        if not m["order"]:
            raise Refused(400, "missing_order", "The message names no order.")
        if m["type"] == "labor":
            self._check_labor(m)
        elif m["type"] != "order_status":
            if not m["material"]:
                raise Refused(400, "missing_material", "The message names no material.")
            if self.materials is not None and m["material"] not in self.materials:
                raise Refused(422, "unknown_material", f"Material {m['material']} is not known to the ERP.")
            if m["quantity"] is None or m["quantity"] <= 0:
                raise Refused(400, "bad_quantity", "The quantity must be a number above zero.")
        closed_at = self.closed.get(m["order"])
        if closed_at is not None and m["sequence"] > closed_at:
            raise Refused(
                422, "order_closed", f"Order {m['order']} is closed in the ERP; nothing more is booked."
            )

    @staticmethod
    def _check_labor(m: dict) -> None:
        """A labor confirmation: each line an operation, a personnel number and whole seconds."""
        if not m["labor"] and not m["machine"]:
            raise Refused(400, "empty_labor", "The labor confirmation confirms no time.")
        for operation, person, seconds in m["labor"]:
            if operation is None:
                raise Refused(400, "missing_operation", "A labor line names no operation.")
            if not person:
                raise Refused(400, "missing_personnel_number", "A labor line names no personnel number.")
            if seconds is None or seconds < 0:
                raise Refused(400, "bad_time", "A labor line's time must be zero or more seconds.")

    def _book(self, m: dict) -> None:
        totals = self.orders.setdefault(m["order"], _order_totals())
        totals["messages"] += 1
        if m["sequence"] < totals["last_sequence"]:
            totals["out_of_order"] += 1
        totals["last_sequence"] = max(totals["last_sequence"], m["sequence"])
        op = str(m["operation"] or 0)
        if m["type"] == "completion":
            totals["good_by_operation"][op] = totals["good_by_operation"].get(op, Decimal(0)) + m["quantity"]
            if m["last"]:
                totals["good"] += m["quantity"]
        elif m["type"] == "scrap":
            totals["scrap_by_operation"][op] = (
                totals["scrap_by_operation"].get(op, Decimal(0)) + m["quantity"]
            )
            totals["scrap"] += m["quantity"]
        elif m["type"] == "consumption":
            totals["consumed"] += m["quantity"]
        elif m["type"] == "labor":
            for operation, person, seconds in m["labor"]:
                op_key = str(operation)
                totals["labor_seconds"] += seconds
                totals["labor_by_operation"][op_key] = totals["labor_by_operation"].get(op_key, 0) + seconds
                totals["labor_by_person"][person] = totals["labor_by_person"].get(person, 0) + seconds
            totals["machine_seconds"] += sum(m["machine"])
        elif m["type"] == "order_status":
            # A status that arrives after a later one (a retry) is history, not the current state.
            if m["sequence"] >= totals["status_sequence"]:
                totals["status"], totals["status_sequence"] = m["status"], m["sequence"]
            if m["status"] in ("closed", "cancelled"):
                self.closed[m["order"]] = m["sequence"]

    def stats(self) -> dict:
        with self.lock:
            return {**self.counts, "unique": len(self.applied), "faults": dict(self.faults)}

    def totals(self, number: str | None = None):
        def plain(t: dict) -> dict:
            return json.loads(json.dumps(t, default=lambda d: f"{d.normalize():f}"))

        with self.lock:
            if number is not None:
                return plain(self.orders.get(number, _order_totals()))
            return {n: plain(t) for n, t in self.orders.items()}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeERP/1"
    state: ErpState

    def log_message(self, format, *args):  # quiet: the tests and the bench send thousands
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status: int, body, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self):
        path = self.path.split("?", 1)[0].rstrip("/")
        state = self.state
        if path == "/_stats":
            return self._answer(200, state.stats())
        if path == "/_keys":
            with state.lock:
                return self._answer(200, sorted(state.applied))
        if path == "/orders":
            return self._answer(200, state.totals())
        if path.startswith("/orders/"):
            return self._answer(200, state.totals(path.removeprefix("/orders/")))
        return self._answer(404, {"detail": "not found"})

    def do_POST(self):
        path = self.path.split("?", 1)[0].rstrip("/")
        body = self._body()
        state = self.state
        if path.startswith("/_"):
            return self._control(path, body)
        faults = state.faults
        if faults.get("down"):
            self.close_connection = True  # drop it unanswered, like a host that is gone
            return None
        if faults.get("slow_seconds"):
            time.sleep(float(faults["slow_seconds"]))
        if path not in ("/messages", "/b2mml"):
            return self._answer(404, {"detail": "not found"})
        if state.roll("error_rate"):
            with state.lock:
                state.counts["errors"] += 1
            return self._answer(500, {"detail": "injected internal error"})
        key = self.headers.get("Idempotency-Key", "")
        try:
            message = parse_json(body, key) if path == "/messages" else parse_b2mml(body, key)
            if not message["key"]:
                raise Refused(400, "missing_key", "The message carries no idempotency key.")
            ack = state.apply(message)
        except Refused as exc:
            return self._answer(exc.status, {"status": "rejected", "code": exc.code, "reason": exc.reason})
        if state.roll("timeout_rate"):
            # Applied, but the answer never comes in time: the sender retries with the same key.
            with state.lock:
                state.counts["timeouts"] += 1
            time.sleep(float(faults.get("hang_seconds") or 30))
            self.close_connection = True
            return None
        if state.roll("garbage_rate"):
            with state.lock:
                state.counts["garbage"] += 1
            return self._answer(200, b"<html>gateway says hello</html>", "text/html")
        return self._answer(200, ack)

    def _control(self, path: str, body: bytes):
        state = self.state
        try:
            data = json.loads(body or b"{}")
        except json.JSONDecodeError:
            return self._answer(400, {"detail": "not JSON"})
        if path == "/_reset":
            with state.lock:
                state.reset()
            return self._answer(200, {"reset": True})
        if path == "/_faults":
            unknown = set(data) - set(FAULTS)
            if unknown:
                return self._answer(400, {"detail": f"unknown faults: {sorted(unknown)}"})
            with state.lock:
                state.faults = {**FAULTS, **data}
            return self._answer(200, state.faults)
        if path == "/_catalog":
            with state.lock:
                if "materials" in data:
                    state.materials = None if data["materials"] is None else set(data["materials"])
                for number in data.get("closed_orders", []):
                    state.closed[number] = 0
            return self._answer(200, {"materials": data.get("materials"), "closed": sorted(state.closed)})
        return self._answer(404, {"detail": "not found"})


def make_server(host: str = "127.0.0.1", port: int = 8001, seed: int | None = None) -> ThreadingHTTPServer:
    state = ErpState(seed)
    handler = type("FakeErpHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    server.state = state
    return server
