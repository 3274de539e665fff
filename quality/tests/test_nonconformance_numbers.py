"""Nonconformance numbers stay unique when many tablets open nonconformances at once (PostgreSQL)."""

import time

import pytest
from django.db import transaction

from mes.tests.threads import run_in_threads
from quality import services
from quality.models import Nonconformance
from quality.tests.conftest import key

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8
EACH = 5


def test_concurrent_openings_each_get_their_own_number(site, supervisor):
    def open_some(i: int) -> None:
        for n in range(EACH):
            # Each opening sits in a transaction that stays open a moment, as a checklist
            # submission does while it records its other answers.
            with transaction.atomic():
                services.nonconformance_open(key=key(), user=supervisor, site=site, title=f"Burr {i}-{n}")
                time.sleep(0.02)

    run_in_threads(open_some, THREADS)
    numbers = list(Nonconformance.objects.values_list("number", flat=True))
    assert len(numbers) == THREADS * EACH == len(set(numbers))
    assert all(number.startswith("NC-") for number in numbers)
