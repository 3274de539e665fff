"""Delivery in the embedded mode (no broker): one background thread per process does what the
Celery worker and beat do in production, so a slow ERP never holds a tablet's request.

It starts on the first nudge when an ERP is configured, drains what is due, reclaims expired
leases, and then sleeps until the next nudge or `ERP_SWEEP_SECONDS`.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection

from integration import services
from integration.config import erp_config

log = logging.getLogger("integration.embedded")
_wake = threading.Event()
_lock = threading.Lock()
_stop = threading.Event()
_thread: threading.Thread | None = None
# A short-lived process (seed_demo) delivers at its end instead of leaving a thread mid-send.
enabled = True


def nudge() -> bool:
    """Wake the deliverer, started first if an ERP is configured; False when none is (nothing to
    deliver to: the messages wait as pending, visible on the console)."""
    global _thread
    if not enabled:
        return True
    if _thread is not None and _thread.is_alive():
        _wake.set()  # the running deliverer reads the configuration itself
        return True
    if erp_config() is None:
        return False
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="outbox-deliverer", daemon=True)
            _thread.start()
    _wake.set()
    return True


def stop(timeout: float = 10) -> None:
    """Stop the deliverer thread (tests; a server process simply exits)."""
    global _thread
    with _lock:
        thread, _thread = _thread, None
    if thread is not None and thread.is_alive():
        _stop.set()
        _wake.set()
        thread.join(timeout)
    _stop.clear()


def drain(max_batches: int = 10_000) -> int:
    """Deliver everything due now, in this thread; returns how many messages were handled."""
    services.outbox_reclaim_expired()
    handled = 0
    for _ in range(max_batches):
        report = services.outbox_deliver_due()
        handled += report.claimed
        if not report.claimed:
            break
    return handled


def _run() -> None:
    while not _stop.is_set():
        _wake.wait(timeout=settings.ERP_SWEEP_SECONDS)
        _wake.clear()
        if _stop.is_set():
            return
        try:
            close_old_connections()
            drain()
        except Exception:
            log.exception("embedded outbox delivery failed; trying again at the next sweep")
        finally:
            connection.close()
