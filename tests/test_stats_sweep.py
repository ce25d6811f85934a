"""The statistics sweep compares times of one zone (issue 22): the periods' bounds are
the local midnights as UTC times, like the cases' times, so that each of the millions
of comparisons over ten years skips the zone's offset lookup; the instants are the same."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from gateway.stats import _periods, _time

OSLO = ZoneInfo("Europe/Oslo")


def test_periods_are_local_midnights_held_in_utc(ruleset):
    periods = _periods(ruleset.hours, dt.date(2026, 3, 1), dt.date(2026, 4, 30), monthly=True)
    assert [p.label for p in periods] == ["2026-03", "2026-04"]
    for period, first in zip(periods, (dt.date(2026, 3, 1), dt.date(2026, 4, 1)), strict=True):
        assert period.start.tzinfo is dt.UTC and period.end.tzinfo is dt.UTC
        assert period.start == dt.datetime.combine(first, dt.time(0), tzinfo=OSLO)
    assert periods[1].start - periods[0].start == dt.timedelta(days=31, hours=-1)  # summer time


def test_stored_times_are_read_as_utc_whatever_offset_they_carry():
    assert _time("2026-03-01T10:00:00+00:00").tzinfo is dt.UTC
    other = _time("2026-03-01T11:00:00+01:00")
    assert other.tzinfo is dt.UTC and other == _time("2026-03-01T10:00:00")
