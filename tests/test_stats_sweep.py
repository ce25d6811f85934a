"""The statistics look at each period's candidates only (one sweep over the cases by
arrival): no case that adds to a period's figures is ever left out of them."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.hours import ServiceHours
from gateway.stats import SUGGESTION, _candidates, _Case, _periods, _touches

HOURS = ServiceHours()
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)

offsets = st.integers(0, 900 * 24)  # hours after 1 January 2024
cases = st.lists(
    st.tuples(
        offsets, st.none() | st.integers(0, 4000), st.none() | st.integers(0, 4000), st.booleans()
    ),  # fmt: skip
    max_size=40,
)


def case(received: int, answer: int | None, closed: int | None, suggestion: bool) -> _Case:
    at = START + dt.timedelta(hours=received)
    return _Case(
        values={},
        kind=SUGGESTION if suggestion else "avvik",
        received=at,
        first_answer=None if answer is None else at + dt.timedelta(hours=answer),
        closed=None if closed is None else at + dt.timedelta(hours=closed),
        close_due=None,
    )


@settings(max_examples=150, deadline=None, derandomize=True)
@given(spec=cases, monthly=st.booleans())
def test_no_case_that_counts_is_left_out(spec, monthly):
    all_cases = [case(*s) for s in spec]
    periods = _periods(HOURS, dt.date(2024, 3, 1), dt.date(2026, 5, 31), monthly)
    for period, candidates in _candidates(all_cases, periods):
        for c in all_cases:
            for counted in (True, False):
                if _touches(c, period, NOW, counted):
                    assert c in candidates, (period.label, c)
