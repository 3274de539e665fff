"""Who and what a log line is about: the request id, the person, the site and the workstation.

Every request gets a request id (the caller's `X-Request-ID` when it is a plain token, else a new
one), echoed in the response. It and the signed-in person are bound to the request's context, and
views that know the workstation add it and its site (`bind`). A logging filter copies the context
onto every record, so each JSON log line names them, and services that hand work on (a ledger
event to its outbox message, the message to its delivery attempts) store the request id with it,
so one search for the id finds a tap's whole path to the ERP.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

FIELDS = ("request_id", "user", "site", "workstation")
_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("mes_log_context", default=None)
_PLAIN_TOKEN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def bind(**values) -> None:
    """Add `values` (among FIELDS) to the current request's or task's log context."""
    current = dict(_context.get() or {})
    current.update({key: value for key, value in values.items() if value is not None})
    _context.set(current)


def current(field: str) -> str | None:
    return (_context.get() or {}).get(field)


def request_id() -> str:
    """The current request id; outside a request (a task, a command) a new one each call."""
    return current("request_id") or uuid.uuid4().hex


class ContextFilter(logging.Filter):
    """Puts the context's fields on every record (empty when outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get() or {}
        for field in FIELDS:
            if not hasattr(record, field):
                setattr(record, field, context.get(field, ""))
        return True


class RequestContextMiddleware:
    """Binds the request id and the person for the request's log lines; answers the id back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get("X-Request-ID", "")
        rid = offered if _PLAIN_TOKEN.match(offered) else uuid.uuid4().hex
        # Set, not reset afterwards: Django logs a refused request ("Unauthorized: /x") after the
        # middleware chain has returned, and that line belongs to this request too. The next
        # request in this context starts afresh here.
        _context.set({"request_id": rid})
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            bind(user=user.get_username())
        response = self.get_response(request)
        response["X-Request-ID"] = rid
        return response
