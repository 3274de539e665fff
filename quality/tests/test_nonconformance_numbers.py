"""Nonconformance numbers stay unique when many tablets open nonconformances at once (PostgreSQL)."""

import threading
import time

import pytest
from django.db import close_old_connections, connection, transaction

from quality import services
from quality.models import Nonconformance
from quality.tests.conftest import key

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

THREADS = 8
EACH = 5


def test_concurrent_openings_each_get_their_own_number(site, supervisor):
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def open_some(i: int) -> None:
        try:
            barrier.wait()
            for n in range(EACH):
                # Each opening sits in a transaction that stays open a moment, as a checklist
                # submission does while it records its other answers.
                with transaction.atomic():
                    services.nonconformance_open(key=key(), user=supervisor, site=site, title=f"Burr {i}-{n}")
                    time.sleep(0.02)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=open_some, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    numbers = list(Nonconformance.objects.values_list("number", flat=True))
    assert len(numbers) == THREADS * EACH == len(set(numbers))
    assert all(number.startswith("NC-") for number in numbers)
