"""A case's deadlines are counted in working days once per day and length, not per
report (gateway/case/opening.py): the same dates as the day-by-day walk."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from gateway.case.opening import deadlines, working_days_after
from gateway.hours import ServiceHours
from gateway.models import Decision, Outcome


@given(
    day=st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2035, 12, 31)),
    days=st.integers(min_value=0, max_value=40),
    country=st.sampled_from(["NO", "SE"]),
)
def test_the_same_dates_as_the_walk(day, days, country):
    hours = ServiceHours(country=country)
    assert working_days_after(hours, day, days) == ServiceHours(country=country).add_working_days(
        day, days
    )


def test_the_walk_is_done_once_per_day_and_length(ruleset, monkeypatch):
    walks = []
    real = ServiceHours.add_working_days

    def counted(self, start, days):
        walks.append((start, days))
        return real(self, start, days)

    monkeypatch.setattr(ServiceHours, "add_working_days", counted)
    working_days_after.cache_clear()
    decision = Decision(Outcome.RELAY, flow="a", to=("support@leverandor.example",))
    day = dt.date(2026, 3, 10)
    first = deadlines(ruleset, decision, day)
    assert walks, "the deadlines are working days after the day"
    counted_once = len(walks)
    assert deadlines(ruleset, decision, day) == first
    assert len(walks) == counted_once
