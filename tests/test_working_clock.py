"""The working clock's table (statistics over ten years, issue 22) gives the very floats
of ``ServiceHours.working_seconds``: the same operations in the same order."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.hours import ServiceHours, WorkingClock

CALENDARS = (
    ServiceHours(),
    ServiceHours(timezone="Europe/Stockholm", country="SE", start=dt.time(7, 0),
                 end=dt.time(16, 45), days=("mon", "tue", "wed", "thu", "fri", "sat")),
    # open through the night: the clock changes inside the service hours
    ServiceHours(start=dt.time(0, 30), end=dt.time(23, 59, 59, 999999)),
    ServiceHours(timezone="America/New_York", country="US"),
)  # fmt: skip
CLOCKS = [WorkingClock(h, dt.date(2020, 1, 1), dt.date(2030, 12, 31)) for h in CALENDARS]
moments = st.datetimes(
    min_value=dt.datetime(2019, 6, 1), max_value=dt.datetime(2031, 6, 1), timezones=st.just(dt.UTC)
)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(
    start=moments,
    length=st.one_of(
        st.timedeltas(dt.timedelta(hours=-2), dt.timedelta(days=3)),
        st.timedeltas(dt.timedelta(0), dt.timedelta(days=900)),
    ),
)
def test_the_table_gives_the_calendars_floats(start, length):
    for hours, clock in zip(CALENDARS, CLOCKS, strict=True):
        assert clock.seconds(start, start + length) == hours.working_seconds(start, start + length)


def test_days_where_the_clock_changes_and_outside_the_span_take_the_calendar():
    hours, clock = CALENDARS[2], CLOCKS[2]
    spring = dt.datetime(2026, 3, 28, 22, 0, tzinfo=dt.UTC)  # Sunday 29 March, local
    for a, b in ((spring, spring + dt.timedelta(hours=30)),
                 (dt.datetime(2001, 1, 1, tzinfo=dt.UTC), spring)):  # fmt: skip
        assert clock.seconds(a, b) == hours.working_seconds(a, b)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(start=moments, length=st.timedeltas(dt.timedelta(hours=-30), dt.timedelta(days=400)))
def test_durations_are_the_statistics_own_hours(start, length):
    from gateway.stats import calendar_hours, working_hours

    end = start + length
    assert CLOCKS[0].durations(start, end) == (
        working_hours(CALENDARS[0], start, end),
        calendar_hours(start, end),
    )
