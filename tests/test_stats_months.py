"""Finished months' figures kept and added up (gateway/stats_months.py, issue 22): the
figures stay those of the reference computation, float for float, after any change to
any case (the triggers of schema.m017_i22_stats_months forget the months it counts in),
and a finished month is counted from the cases once."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import stats_reference
from hypothesis import given, settings
from hypothesis import strategies as st
from test_stats_hours import _log
from test_stats_same import SLOW, cases

import gateway.stats_months as stats_months
from gateway.stats import DIMENSIONS, Counter, figures
from gateway.store import open_db, update, write

NOW = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
RANGE = (dt.date(2023, 6, 1), dt.date(2026, 6, 30))  # whole months, all over at NOW

changes = st.one_of(  # one column of a case, as the gateway (or an administrator) sets it
    st.tuples(
        st.sampled_from(["received_at", "first_answer_at", "closed_at"]),
        st.one_of(
            st.none(),
            st.datetimes(dt.datetime(2023, 6, 1), dt.datetime(2026, 6, 1)).map(
                lambda t: t.replace(tzinfo=dt.UTC).isoformat(timespec="milliseconds")
            ),
        ),
    ),  # fmt: skip
    st.tuples(st.just("close_due"), st.one_of(st.none(), st.dates().map(str))),
    st.tuples(st.just("flow"), st.sampled_from(["a", "b", "c", None])),
    st.tuples(st.just("kind"), st.sampled_from(["avvik", "forbedringsforslag", None])),
    st.tuples(st.just("receiving_party"), st.sampled_from(["supplier", "elsewhere", None])),
    st.tuples(st.just("municipality"), st.sampled_from(["Vennesla", "Lillesand"])),
    st.tuples(st.just("urgent"), st.sampled_from([0, 1])),
    st.tuples(st.just("severity"), st.sampled_from(["high", "low", None])),
    st.tuples(st.just("category"), st.sampled_from(["rutine", None])),
    st.tuples(st.just("status"), st.sampled_from(["lukket", "registrert"])),
    st.tuples(st.just("delete"), st.none()),
)
asks = st.tuples(
    st.booleans(),  # by month (else the whole range as one period)
    st.lists(st.sampled_from(DIMENSIONS[1:]), max_size=2, unique=True),
)


def _in_order(case: dict) -> dict:
    """Answered, if at all, by its closing, and closed after it came: most cases (the
    others are never kept, so they leave few months to keep)."""
    received, answered, closed = (case[k] for k in ("received_at", "first_answer_at", "closed_at"))
    if closed is not None and closed < received:
        closed = received + dt.timedelta(hours=5)
    if answered is not None and closed is not None and answered > closed:
        answered = closed
    return {**case, "first_answer_at": answered, "closed_at": closed}


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=SLOW)
@given(
    log=st.lists(st.one_of(cases(), *[cases().map(_in_order)] * 3), min_size=5, max_size=40),
    ask=asks,
    edits=st.lists(st.tuples(st.integers(0, 39), changes), min_size=1, max_size=3),
)
def test_the_figures_after_a_change_are_the_reference_s(ruleset, log, ask, edits):
    db = open_db(None)
    ids = _log(db, log)
    monthly, by = ask
    by = ["month", *by] if monthly else by
    figures(db, ruleset, *RANGE, by, NOW)  # the months counted and kept
    for at, (column, value) in edits:
        case_id = ids[at % len(ids)]
        with write(db):
            if column == "delete":
                db.execute("DELETE FROM cases WHERE id = ?", [case_id])
            else:
                update(db, "cases", case_id, {column: value})
    got = figures(db, ruleset, *RANGE, by, NOW)
    assert [dataclasses.asdict(r) for r in got] == _reference(db, ruleset, *RANGE, by, NOW)


def _reference(db, ruleset, first, last, by, now) -> list[dict]:
    """The reference's figures, read from the cases (in a copy without the narrow one)."""
    copy = open_db(None)
    db.conn.backup(copy.conn)
    copy.execute("DROP TABLE case_figures")
    rows = stats_reference.figures(copy, ruleset, first, last, by, now)
    return [dataclasses.asdict(r) for r in rows]


def _ten_years(ruleset):
    db = open_db(None)
    _log(db, [_case(year, month) for year in range(2016, 2027) for month in (1, 6, 12)])
    return db


def _case(year: int, month: int) -> dict:
    at = dt.datetime(year, month, 3, 9, tzinfo=dt.UTC)
    return {"received_at": at, "first_answer_at": at + dt.timedelta(hours=3),
            "closed_at": at + dt.timedelta(days=40), "close_due": None, "flow": "a",
            "kind": "avvik", "status": "lukket", "urgent": 0, "municipality": "Vennesla",
            "receiving_party": "supplier", "severity": None, "cause": None}  # fmt: skip


def test_a_finished_month_is_counted_from_the_cases_once(ruleset, monkeypatch):
    db = _ten_years(ruleset)
    now = dt.datetime(2026, 12, 10, tzinfo=dt.UTC)
    span = (dt.date(2016, 1, 1), dt.date(2026, 12, 31))
    first = figures(db, ruleset, *span, ["month", "flow"], now)
    kept = db.execute("SELECT COUNT(*) FROM stats_months").fetchone()[0]
    assert kept == 131  # 2016-01 .. 2026-11: not December, not over
    counted = []
    real = stats_months.read
    monkeypatch.setattr(stats_months, "read", lambda *a, **k: counted.append(a) or real(*a, **k))
    again = Counter(db, ruleset, now)
    assert again.figures(*span, ["month", "flow"]) == first
    assert again.figures(dt.date(2025, 1, 1), dt.date(2025, 12, 31), ["party"]) == figures(
        db, ruleset, dt.date(2025, 1, 1), dt.date(2025, 12, 31), ["party"], now
    )
    assert counted == []  # every finished month read as kept, none from the cases


def test_a_change_forgets_the_months_from_the_case_s_arrival_on_and_no_others(ruleset):
    db = _ten_years(ruleset)
    now = dt.datetime(2026, 12, 10, tzinfo=dt.UTC)
    figures(db, ruleset, dt.date(2016, 1, 1), dt.date(2026, 11, 30), ["month"], now)
    (case_id,) = db.execute("SELECT id FROM cases WHERE received_at LIKE '2025-06%'").fetchone()
    with write(db):
        update(db, "cases", case_id, {"status": "registrert"})  # status: not kept
    assert db.execute("SELECT COUNT(*) FROM stats_months").fetchone()[0] == 131
    with write(db):
        update(db, "cases", case_id, {"flow": "b"})
    months = [m for (m,) in db.execute("SELECT month FROM stats_months ORDER BY month")]
    assert months[-1] == "2025-05"  # June 2025 on forgotten (and the days before it)
    assert len(months) == 131 - 18


def test_nothing_is_kept_inside_a_transaction_the_caller_holds(ruleset):
    db = _ten_years(ruleset)
    now = dt.datetime(2026, 12, 10, tzinfo=dt.UTC)
    db.execute("BEGIN")
    rows = figures(db, ruleset, dt.date(2016, 1, 1), dt.date(2026, 11, 30), ["month"], now)
    db.execute("ROLLBACK")
    assert db.execute("SELECT COUNT(*) FROM stats_months").fetchone()[0] == 0
    assert rows == figures(db, ruleset, dt.date(2016, 1, 1), dt.date(2026, 11, 30), ["month"], now)


@pytest.mark.parametrize("answered", [dt.timedelta(hours=2), dt.timedelta(days=60)])
def test_a_case_answered_after_its_closing_keeps_its_months_out(ruleset, answered):
    """Answered two months after its closing, a case is counted in a period that holds
    its closing, and not in its answer's month alone: no kept month can say both."""
    db = open_db(None)
    case = _case(2025, 2)
    case["first_answer_at"] = case["closed_at"] + answered
    _log(db, [case, _case(2024, 6)])
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    year = figures(db, ruleset, dt.date(2025, 1, 1), dt.date(2025, 12, 31), [], now)
    kept = {m for (m,) in db.execute("SELECT month FROM stats_months")}
    if answered > dt.timedelta(days=1):
        assert not {"2025-02", "2025-03", "2025-04", "2025-05"} & kept
    else:
        assert {"2025-02", "2025-03", "2025-12"} <= kept
    by_month = figures(db, ruleset, dt.date(2025, 1, 1), dt.date(2025, 12, 31), ["month"], now)
    assert year[0].answer.count == sum(r.answer.count for r in by_month) == 1
    assert [dataclasses.asdict(r) for r in year] == _reference(
        db, ruleset, dt.date(2025, 1, 1), dt.date(2025, 12, 31), [], now
    )


def test_a_log_of_an_older_version_is_counted_from_its_cases(ruleset):
    """Without the kept months (and the index of the cases apart), as another
    deployment's older log read by ``stats --across``: every period from the cases."""
    db = open_db(None)
    late = _case(2025, 2)
    late["first_answer_at"] = late["closed_at"] + dt.timedelta(days=60)
    _log(db, [late, _case(2025, 6)])
    db.execute("DROP TABLE stats_months")
    db.execute("DROP INDEX idx_case_figures_apart")
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    counter = Counter(db, ruleset, now)
    year = counter.figures(dt.date(2025, 1, 1), dt.date(2025, 12, 31), ["month"])
    may = counter.figures(dt.date(2025, 5, 1), dt.date(2025, 5, 31))  # alone: not answered
    assert (year[4].answer.count, may[0].answer.count) == (1, 0)
    for rows, span in ((year, (dt.date(2025, 1, 1), dt.date(2025, 12, 31), ["month"])),
                       (may, (dt.date(2025, 5, 1), dt.date(2025, 5, 31), []))):  # fmt: skip
        assert [dataclasses.asdict(r) for r in rows] == _reference(db, ruleset, *span, now)


def test_a_change_of_calendar_forgets_the_other_calendar_s_months(ruleset):
    db = _ten_years(ruleset)
    now = dt.datetime(2026, 12, 10, tzinfo=dt.UTC)
    span = (dt.date(2016, 1, 1), dt.date(2026, 11, 30))
    before = figures(db, ruleset, *span, ["month"], now)
    longer = dataclasses.replace(ruleset.hours, end=dt.time(17, 0), _cache={})
    other = dataclasses.replace(ruleset, hours=longer)
    after = figures(db, other, *span, ["month"], now)
    assert after != before  # (longer service hours: other working hours)
    calendars = [c for (c,) in db.execute("SELECT DISTINCT calendar FROM stats_months")]
    assert calendars == [longer.digest]
    assert db.execute("SELECT COUNT(*) FROM stats_months").fetchone()[0] == 131
