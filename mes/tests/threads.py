"""Running test code in several threads at the same moment, each with its own database connection."""

from __future__ import annotations

import threading

from django.db import close_old_connections, connection


def run_in_threads(target, count: int, timeout: float = 60) -> None:
    """Call `target(i)` for i in 0..count-1, each in its own thread, all released together; any
    exception a thread raised, or a thread still running after `timeout`, fails the caller."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        except BaseException as exc:  # surfaced to the caller below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"still running after {timeout} s: {stuck}"
    assert not errors, errors
