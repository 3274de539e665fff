"""The shift calendar: occurrences in UTC, night shifts over midnight, daylight-saving changes."""

from datetime import UTC, datetime, time

import pytest

from mes.models import Shift
from mes.selectors import current_shift, shift_windows


@pytest.fixture
def berlin(site):
    Shift.objects.create(site=site, name="Early", start_time=time(6), end_time=time(14), weekdays="12345")
    Shift.objects.create(site=site, name="Night", start_time=time(22), end_time=time(6), weekdays="1234")
    return site


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_windows_are_local_shift_hours_in_utc(berlin):
    # Monday 2026-01-12, Berlin is UTC+1 in winter.
    windows = shift_windows(berlin, utc(2026, 1, 12), utc(2026, 1, 13))
    assert [(w.shift.name, w.start, w.end) for w in windows] == [
        ("Early", utc(2026, 1, 12, 5), utc(2026, 1, 12, 13)),
        ("Night", utc(2026, 1, 12, 21), utc(2026, 1, 13)),  # clipped at the range end
    ]


def test_a_night_shift_runs_into_the_next_day(berlin):
    window = current_shift(berlin, utc(2026, 1, 13, 3))
    assert window.shift.name == "Night"
    assert (window.start, window.end) == (utc(2026, 1, 12, 21), utc(2026, 1, 13, 5))


def test_no_shift_on_days_it_does_not_run(berlin):
    # Friday night has no night shift, the weekend has no shifts at all.
    assert current_shift(berlin, utc(2026, 1, 16, 23)) is None
    assert shift_windows(berlin, utc(2026, 1, 17), utc(2026, 1, 18, 23)) == []


def test_shift_keeps_its_wall_clock_hours_across_daylight_saving(berlin):
    # Clocks go forward on Sunday 2026-03-29; Monday's early shift is 06:00-14:00 CEST (UTC+2).
    window = current_shift(berlin, utc(2026, 3, 30, 5))
    assert (window.start, window.end) == (utc(2026, 3, 30, 4), utc(2026, 3, 30, 12))
    assert window.seconds == 8 * 3600
