"""The counted statistics (gateway/stats_tally.py, issue 22) give the same rows, float for
float, as the computation before it (tests/stats_reference.py), on generated case logs:
periods of a day to three years, with or without months, any dimensions, times on the
periods' edges and around the change to and from summer time, cases open for years. The
counting reads the narrow copy of the cases (schema.m017_i22_case_figures), the
reference the cases themselves."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import stats_reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.stats import DIMENSIONS, figures
from gateway.store import insert, open_db

OSLO = ZoneInfo("Europe/Oslo")
EDGES = [  # local midnights of months, and the hours around the clock's changes
    dt.datetime(2025, m, 1, tzinfo=OSLO).astimezone(dt.UTC) for m in (1, 3, 4, 10, 11)
] + [dt.datetime(2025, 3, 30, 1, tzinfo=dt.UTC), dt.datetime(2025, 10, 26, 1, tzinfo=dt.UTC)]

instants = st.one_of(
    st.datetimes(dt.datetime(2023, 6, 1), dt.datetime(2026, 6, 1), timezones=st.just(dt.UTC)),
    st.builds(lambda e, s: e + dt.timedelta(seconds=s), st.sampled_from(EDGES), st.integers(-3, 3)),
)
later = st.one_of(
    st.none(),
    st.builds(lambda d: dt.timedelta(days=d), st.integers(0, 4)),
    st.timedeltas(dt.timedelta(0), dt.timedelta(days=3)),
    st.timedeltas(dt.timedelta(0), dt.timedelta(days=700)),
)


@st.composite
def cases(draw):
    received = draw(instants).replace(microsecond=draw(st.integers(0, 999)) * 1000)
    answered = draw(later)
    # now and then closed before it came (bad data): counted as it was before
    closed = draw(st.one_of(later, st.just(dt.timedelta(hours=-5))))
    local = received.astimezone(OSLO).date()
    due = draw(  # on the edges too: the day it closed, the first of a month
        st.one_of(
            st.none(),
            st.dates(dt.date(2023, 6, 1), dt.date(2027, 1, 1)),
            st.builds(lambda d: local + dt.timedelta(days=d), st.integers(-1, 4)),
            st.builds(
                lambda m: (local.replace(day=1) + m * dt.timedelta(days=31)).replace(day=1),
                st.integers(1, 3),
            ),  # fmt: skip
        )
    )
    return {
        "received_at": received,
        "first_answer_at": received + answered if answered is not None else None,
        "closed_at": received + closed if closed is not None else None,
        "close_due": due.isoformat() if due else None,
        "flow": draw(st.sampled_from(["a", "b", "c", None])),
        "kind": draw(st.sampled_from(["avvik", "forbedringsforslag", None, "annet"])),
        "status": draw(st.sampled_from(["registrert", "lukket", None])),
        "urgent": draw(st.sampled_from([0, 1, None])),
        "municipality": draw(st.sampled_from(["Vennesla", "Arendal", None])),
        "receiving_party": draw(st.sampled_from(["supplier", "municipality:Arendal", None])),
        "severity": draw(st.sampled_from(["high", None])),
        "cause": draw(st.sampled_from(["", "fault", None])),
    }


def stored(at: dt.datetime | None, offset: int) -> str | None:
    """As the store writes it (UTC, milliseconds), or now and then in another offset."""
    if at is None:
        return None
    zone = dt.timezone(dt.timedelta(hours=offset))
    return at.astimezone(zone).isoformat(timespec="milliseconds")


SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=SLOW)
@given(
    log=st.lists(cases(), min_size=10, max_size=60),
    offset=st.sampled_from([0, 0, 0, 2]),
    first=st.dates(dt.date(2024, 1, 1), dt.date(2025, 12, 31)),
    days=st.one_of(st.integers(0, 40), st.integers(0, 1100)),
    monthly=st.booleans(),
    by=st.lists(st.sampled_from(DIMENSIONS[1:]), max_size=2, unique=True),
    now=st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2028, 1, 1), timezones=st.just(dt.UTC)),
)
def test_counted_figures_are_the_reference_figures(
    ruleset, log, offset, first, days, monthly, by, now
):
    db = open_db(None)
    for n, case in enumerate(log):
        times = {k: stored(case[k], offset) for k in ("received_at", "first_answer_at",
                                                        "closed_at")}  # fmt: skip
        insert(db, "cases", {**case, **times, "reference": f"AVVIK-2025-{n:04d}"})
    last = first + dt.timedelta(days=days)
    by = ["month", *by] if monthly else by
    got = figures(db, ruleset, first, last, by, now)  # from the copy the triggers keep
    db.execute("DROP TABLE case_figures")  # the reference reads the cases themselves
    want = stats_reference.figures(db, ruleset, first, last, by, now)
    assert [dataclasses.asdict(r) for r in got] == [dataclasses.asdict(r) for r in want]
