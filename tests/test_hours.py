"""Working time in closed form: the same hours as walking the calendar day by day."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.hours import ServiceHours

NORWAY = ServiceHours()
SWEDEN_LATE = ServiceHours(
    timezone="Europe/Stockholm", country="SE", start=dt.time(7, 0), end=dt.time(16, 45),
    days=("mon", "tue", "wed", "thu", "fri", "sat"),
)  # fmt: skip
UTC = dt.UTC


def walked(hours: ServiceHours, start: dt.datetime, end: dt.datetime) -> float:
    """The reference: every day from the first to the last, clipped to service hours."""
    a, b = hours.local(start), hours.local(end)
    total, day = 0.0, a.date()
    while day <= b.date():
        if hours.is_working_day(day):
            opens = dt.datetime.combine(day, hours.start, tzinfo=hours.zone)
            closes = dt.datetime.combine(day, hours.end, tzinfo=hours.zone)
            lo, hi = max(opens, a), min(closes, b)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += dt.timedelta(days=1)
    return total


moments = st.datetimes(
    min_value=dt.datetime(2019, 1, 1), max_value=dt.datetime(2031, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    start=moments, length=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=900))
)
def test_closed_form_matches_the_walk(start, length):
    for hours in (NORWAY, SWEDEN_LATE):
        got = hours.working_seconds(start, start + length)
        assert got == pytest.approx(walked(hours, start, start + length), abs=1e-6)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(first=st.dates(dt.date(2019, 1, 1), dt.date(2031, 12, 31)), span=st.integers(-5, 800))
def test_working_days_counts_what_is_working(first, span):
    last = first + dt.timedelta(days=span)
    walk = sum(NORWAY.is_working_day(first + dt.timedelta(days=i)) for i in range(max(span + 1, 0)))
    assert NORWAY.working_days(first, last) == walk


def test_easter_week_and_a_weekend():
    # Thursday 2 April 2026 08:00 to Tuesday 7 April 12:00, Oslo: Maundy Thursday, Good
    # Friday and Easter Monday are holidays, so only Tuesday's 08:00-12:00 counts.
    start = dt.datetime(2026, 4, 2, 6, 0, tzinfo=UTC)
    end = dt.datetime(2026, 4, 7, 10, 0, tzinfo=UTC)
    assert NORWAY.working_seconds(start, end) == 4 * 3600
    assert NORWAY.working_seconds(end, start) == 0
