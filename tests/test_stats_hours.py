"""Each case's durations stored under its calendar (schema.m017_i22_case_hours, issue 22):
the statistics work them out once and read them after; a change to a case's times
forgets them in the same transaction, and a change of calendar leaves them unread. The
figures stay those of the reference computation, float for float."""

from __future__ import annotations

import dataclasses
import datetime as dt

import stats_reference
from hypothesis import given, settings
from hypothesis import strategies as st
from test_stats_same import SLOW, cases, stored

from gateway.stats import DIMENSIONS, figures
from gateway.store import insert, open_db, update, write
from gateway.store.stats import store_hours

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
YEAR = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))


def _asdict(rows) -> list[dict]:
    return [dataclasses.asdict(r) for r in rows]


def _log(db, log) -> list[int]:
    ids = []
    for n, case in enumerate(log):
        times = {k: stored(case[k], 0) for k in ("received_at", "first_answer_at", "closed_at")}
        ids.append(insert(db, "cases", {**case, **times, "reference": f"AVVIK-2025-{n:04d}"}))
    db.conn.commit()  # as a writer leaves it: the durations are stored outside its transaction
    return ids


def _reference(db, ruleset, first, last, by) -> list[dict]:
    """The reference's figures, read from the cases (in a copy without the narrow one)."""
    copy = open_db(None)
    db.conn.backup(copy.conn)
    copy.execute("DROP TABLE case_figures")
    return _asdict(stats_reference.figures(copy, ruleset, first, last, by, NOW))


def _stored(db) -> dict[int, tuple]:
    return {r[0]: r[1:] for r in db.execute("SELECT * FROM case_hours")}


def _case(received: str, answered: str | None, closed: str | None) -> dict:
    def at(text: str | None) -> dt.datetime | None:
        return None if text is None else dt.datetime.fromisoformat(text)

    return {"received_at": at(received), "first_answer_at": at(answered),
            "closed_at": at(closed), "kind": "avvik", "flow": "a"}  # fmt: skip


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=SLOW)
@given(
    log=st.lists(cases(), min_size=5, max_size=40),
    first=st.dates(dt.date(2024, 1, 1), dt.date(2025, 12, 31)),
    days=st.integers(0, 500),
    by=st.lists(st.sampled_from(DIMENSIONS), max_size=2, unique=True),
    changed=st.lists(st.tuples(st.integers(0, 39), st.timedeltas(dt.timedelta(0),
                                                                 dt.timedelta(days=90)))),
)  # fmt: skip
def test_stored_durations_give_the_reference_figures_before_and_after_a_change(
    ruleset, log, first, days, by, changed
):
    db = open_db(None)
    ids = _log(db, log)
    last = first + dt.timedelta(days=days)
    once = _asdict(figures(db, ruleset, first, last, by, NOW))  # works them out, stores them
    assert once == _reference(db, ruleset, first, last, by)
    assert _asdict(figures(db, ruleset, first, last, by, NOW)) == once  # read from the store
    for index, later in changed:  # answered or closed anew: forgotten, worked out again
        case_id = ids[index % len(ids)]
        received = db.execute("SELECT received_at FROM cases WHERE id = ?", [case_id]).fetchone()
        at = dt.datetime.fromisoformat(received[0]) + later
        update(db, "cases", case_id, {"closed_at": stored(at, 0), "first_answer_at": stored(at, 0)})
    db.conn.commit()
    assert _asdict(figures(db, ruleset, first, last, by, NOW)) == _reference(
        db, ruleset, first, last, by
    )


def test_a_duration_is_read_from_the_store_once_worked_out(ruleset):
    db = open_db(None)
    (case_id,) = _log(db, [_case("2025-03-03T08:00:00.000+00:00", None,
                                 "2025-03-04T08:00:00.000+00:00")])  # fmt: skip
    row = figures(db, ruleset, *YEAR, (), NOW)[0]
    assert row.close.calendar_median == 24.0
    digest = ruleset.hours.digest
    assert _stored(db) == {case_id: (digest, None, None, row.close.working_median, 24.0)}
    db.execute("UPDATE case_hours SET close_calendar = 99.0")  # not worked out again
    db.execute("DELETE FROM stats_months")  # (the year's months, kept, are counted anew)
    db.conn.commit()
    assert figures(db, ruleset, *YEAR, (), NOW)[0].close.calendar_median == 99.0


def test_a_change_to_a_case_s_times_forgets_its_durations(ruleset):
    db = open_db(None)
    ids = _log(db, [_case("2025-03-03T08:00:00.000+00:00", "2025-03-03T10:00:00.000+00:00",
                          None), _case("2025-03-05T08:00:00.000+00:00", None, None)])  # fmt: skip
    figures(db, ruleset, *YEAR, (), NOW)
    assert set(_stored(db)) == set(ids)
    update(db, "cases", ids[0], {"closed_at": "2025-03-06T08:00:00.000+00:00"})
    update(db, "cases", ids[1], {"status": "lukket"})  # not a time: kept
    db.conn.commit()
    assert set(_stored(db)) == {ids[1]}
    row = figures(db, ruleset, *YEAR, (), NOW)[0]
    assert row.close.calendar_median == 72.0
    assert _stored(db)[ids[0]][3:] == (row.close.working_median, 72.0)
    db.execute("DELETE FROM cases WHERE id = ?", [ids[1]])
    db.conn.commit()
    assert set(_stored(db)) == {ids[0]}


def test_a_change_of_calendar_leaves_the_stored_durations_unread(ruleset):
    db = open_db(None)
    _log(db, [_case("2025-03-03T07:00:00.000+00:00", "2025-03-04T07:00:00.000+00:00",
                    None)])  # fmt: skip
    before = figures(db, ruleset, *YEAR, (), NOW)[0].answer.working_median
    longer = dataclasses.replace(ruleset.hours, end=dt.time(17, 0), _cache={})
    other = dataclasses.replace(ruleset, hours=longer)
    assert longer.digest != ruleset.hours.digest
    after = figures(db, other, *YEAR, (), NOW)[0].answer.working_median
    assert after == before + 1.5  # service till 17:00, not 15:30, on the first day
    assert _asdict(figures(db, other, *YEAR, (), NOW)) == _reference(db, other, *YEAR, ())
    assert {r[0] for r in _stored(db).values()} == {longer.digest}  # kept anew, under it


def test_nothing_is_stored_inside_a_transaction_the_caller_holds(ruleset):
    db = open_db(None)
    (case_id,) = _log(db, [_case("2025-03-03T08:00:00.000+00:00", None, None)])
    with write(db):
        assert store_hours(db, "x", [(case_id, None, None, None, None)]) == 0
        figures(db, ruleset, *YEAR, (), NOW)
    assert _stored(db) == {}
    assert store_hours(db, "x", [(case_id, None, None, None, None)]) == 1


def test_a_log_opened_read_only_is_counted_without_storing(ruleset, tmp_path):
    from gateway.store.stats import open_figures_only

    db = open_db(tmp_path / "gateway.db")
    _log(db, [_case("2025-03-03T08:00:00.000+00:00", None, "2025-03-04T08:00:00.000+00:00")])
    want = _asdict(figures(db, ruleset, *YEAR, ("month",), NOW))
    db.execute("DELETE FROM case_hours")
    db.conn.commit()
    db.close()
    only = open_figures_only(tmp_path / "gateway.db")
    assert _asdict(figures(only, ruleset, *YEAR, ("month",), NOW)) == want
    assert _stored(only) == {}
