"""A report's counter (gateway/stats.py ``Counter``, issue 22) counts each set of periods
once and reads it in many groupings: each grouping, of any period inside a counted one,
gives the same rows, float for float, as ``figures`` counting it alone."""

from __future__ import annotations

import dataclasses
import datetime as dt

import stats_reference
from hypothesis import given, settings
from hypothesis import strategies as st
from test_stats_same import SLOW, cases, stored

from gateway.stats import DIMENSIONS, Counter, Times, figures
from gateway.stats_read import read
from gateway.stats_tally import tally
from gateway.store import insert, open_db

PLAIN = ["flow", "party", "municipality", "status", "urgent", "severity", "category"]
asks = st.tuples(
    st.integers(0, 14),  # months after the first counted one
    st.integers(0, 2),  # months long
    st.booleans(),  # by month
    st.lists(st.sampled_from([*PLAIN, "kind", "cause-given"]), max_size=2, unique=True),
    st.booleans(),  # with times
)


def _asdict(rows) -> list[dict]:
    return [dataclasses.asdict(r) for r in rows]


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=SLOW)
@given(
    log=st.lists(cases(), min_size=10, max_size=60),
    first=st.dates(dt.date(2024, 1, 1), dt.date(2025, 6, 1)).map(lambda d: d.replace(day=1)),
    dims=st.lists(st.sampled_from(PLAIN), max_size=3, unique=True),
    questions=st.lists(asks, min_size=1, max_size=5),
    now=st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2028, 1, 1), timezones=st.just(dt.UTC)),
)
def test_each_grouping_is_what_figures_counts_alone(ruleset, log, first, dims, questions, now):
    db = open_db(None)
    for n, case in enumerate(log):
        times = {k: stored(case[k], 0) for k in ("received_at", "first_answer_at", "closed_at")}
        insert(db, "cases", {**case, **times, "reference": f"AVVIK-2025-{n:04d}"})
    counter = Counter(db, ruleset, now, dims)
    year_end = first.replace(year=first.year + 1) - dt.timedelta(days=1)
    counter.figures(first, year_end, ["month"])  # a year counted first, as the report's trend
    for after, months, monthly, by, times in questions:
        start = _month(first, after)
        end = _month(start, months + 1) - dt.timedelta(days=1)
        by = ["month", *by] if monthly else by
        got = counter.figures(start, end, by, times)
        want = figures(db, ruleset, start, end, by, now)
        if not times:  # the counts alone
            want = [_counts_only(r) for r in want]
        assert _asdict(got) == _asdict(want)


def _counts_only(row):
    return dataclasses.replace(row, answer=Times(row.answer.count), close=Times(row.close.count))


def _month(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def test_a_month_inside_a_read_year_is_not_read_again(ruleset, monkeypatch):
    """Counted from the cases (by status, which kept months leave out): the year read
    once, each month inside it narrowed from that read."""
    import gateway.stats as stats

    reads, passes = [], []
    monkeypatch.setattr(stats, "read", lambda *a: reads.append(1) or read(*a))
    monkeypatch.setattr(stats, "tally", lambda *a, **k: passes.append(1) or tally(*a, **k))
    counter = Counter(open_db(None), ruleset, dims=["status", "party", "municipality"])
    counter.figures(dt.date(2025, 1, 1), dt.date(2025, 12, 31), ["month", "status"], times=False)
    for by in ([], ["status"], ["party"], ["month", "status", "party"], ["municipality"]):
        counter.figures(dt.date(2025, 12, 1), dt.date(2025, 12, 31), by)
        counter.figures(dt.date(2025, 11, 1), dt.date(2025, 11, 30), by)
    assert (len(reads), len(passes)) == (1, 3)  # the year; December, November counted once
    counter.figures(dt.date(2025, 12, 1), dt.date(2025, 12, 31), ["cause-given"])
    assert len(reads) == 2  # a column not read: a read of its own


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=SLOW)
@given(
    log=st.lists(cases(), min_size=1, max_size=40),
    by=st.lists(st.sampled_from(DIMENSIONS[1:]), max_size=2, unique=True),
    monthly=st.booleans(),
)
def test_a_period_before_every_case_reads_the_whole_log_as_the_reference(ruleset, log, by, monthly):
    """From before the oldest case on, the cases are read by one scan of the table
    (store/stats.py ``_whole_log``), not by the indexes: the same rows."""
    db = open_db(None)
    for n, case in enumerate(log):
        times = {k: stored(case[k], 0) for k in ("received_at", "first_answer_at", "closed_at")}
        insert(db, "cases", {**case, **times, "reference": f"AVVIK-2025-{n:04d}"})
    first, last, now = (
        dt.date(2023, 1, 1),
        dt.date(2027, 6, 30),
        dt.datetime(2026, 7, 1, tzinfo=dt.UTC),
    )
    by = ["month", *by] if monthly else by
    got = figures(db, ruleset, first, last, by, now)
    db.execute("DROP TABLE case_figures")
    assert _asdict(got) == _asdict(stats_reference.figures(db, ruleset, first, last, by, now))


def test_an_answer_after_the_closing_counts_as_in_a_read_of_the_month_alone(ruleset):
    """A first answer after the case closed counts only if the case closed no earlier
    than the day before the range asked: a month inside a year read is narrowed as a
    read of the month would be."""
    db = open_db(None)
    insert(db, "cases", {"reference": "AVVIK-2025-0001", "kind": "avvik",
                         "received_at": "2025-02-03T10:00:00.000+00:00",
                         "closed_at": "2025-03-04T10:00:00.000+00:00",
                         "first_answer_at": "2025-06-05T10:00:00.000+00:00"})  # fmt: skip
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    counter = Counter(db, ruleset, now)
    year = counter.figures(dt.date(2025, 1, 1), dt.date(2025, 12, 31), ["month"])
    june = counter.figures(dt.date(2025, 6, 1), dt.date(2025, 6, 30))
    assert year[5].answer.count == 1  # within the year read: closed after its start
    assert _asdict(june) == _asdict(figures(db, ruleset, dt.date(2025, 6, 1),
                                            dt.date(2025, 6, 30), [], now))  # fmt: skip
    assert june[0].answer.count == 0
