"""No table grows with every run (issue 22): a case on the overdue list day after day is
one event with a count, a purged case keeps no address in its messages or outbox rows,
and old job runs go with the retention time; an existing log is folded when migrated."""

from __future__ import annotations

import contextlib
import datetime as dt

from sqlite_utils import Database
from test_followup import local, report_at, run, runner_for
from test_retention import NOW, seeded
from test_threads import Conversation

from gateway.retention import purge
from gateway.store import migrations, open_db


def test_a_case_on_the_overdue_list_each_day_is_one_event_with_a_count(fresh_db, ruleset):
    talk = Conversation(fresh_db, ruleset)
    ref, _relay = report_at(talk, local(2026, 3, 2, 10, 0), subject="Alarm uten lyd")
    runner = runner_for(fresh_db, ruleset)
    for day in (17, 18, 19):  # the measures deadline passed on the 16th
        run(runner, "overdue-list", local(2026, 3, day, 7, 15))
    rows = list(fresh_db.query("SELECT repeats, last_at, at FROM events WHERE kind = 'overdue'"))
    assert len(rows) == 1 and rows[0]["repeats"] == 3 and rows[0]["last_at"] > rows[0]["at"]
    after = dt.date.fromisoformat(talk.case(ref)["close_due"]) + dt.timedelta(days=1)
    run(runner, "overdue-list", local(after.year, after.month, after.day, 7, 15))  # both now
    assert fresh_db["events"].count_where("kind = 'overdue'") == 2


def test_a_purged_case_keeps_no_address_and_old_job_runs_go(fresh_db, ruleset):
    seeded(fresh_db, ruleset)
    old = (NOW - dt.timedelta(days=400)).isoformat(timespec="seconds")
    for job, due in (("reminders", old), ("reminders", old + "x"), ("escalation", old)):
        fresh_db["job_runs"].insert({"job": job, "due_at": due, "result": "ok"})
    (case_id,) = fresh_db.execute("SELECT id FROM cases WHERE subject = 'Gammel lukket'").fetchone()
    assert fresh_db.execute("SELECT COUNT(*) FROM outbox WHERE case_id = ?", [case_id]).fetchone()[
        0
    ]
    purge(fresh_db, 365, today=NOW)
    kept = fresh_db.execute(
        "SELECT COUNT(*) FROM messages WHERE case_id = ? AND "
        "(from_addr IS NOT NULL OR to_addrs IS NOT NULL)", [case_id]
    ).fetchone()[0]  # fmt: skip
    sent = fresh_db.execute(
        "SELECT COUNT(*) FROM outbox WHERE case_id = ? AND "
        "(mail_from IS NOT NULL OR recipients IS NOT NULL)", [case_id]
    ).fetchone()[0]  # fmt: skip
    assert (kept, sent) == (0, 0)
    others = fresh_db.execute(  # a case still kept keeps its addresses
        "SELECT COUNT(*) FROM messages m JOIN cases c ON c.id = m.case_id "
        "WHERE c.purged_at IS NULL AND m.from_addr IS NOT NULL"
    ).fetchone()[0]
    assert others > 0
    runs = sorted((r["job"], r["due_at"]) for r in fresh_db["job_runs"].rows)
    assert runs == [("escalation", old), ("reminders", old + "x")]  # each job's latest


def test_an_existing_log_has_its_repeated_overdue_events_folded(db_path):
    old = Database(db_path)
    migrations.apply(old, stop_before="m014_i22_bounded_growth")
    for i, case_id in enumerate([1, 1, 1, 2]):
        detail = "on the overdue list (close)"
        old["events"].insert(
            {
                "at": f"2026-03-1{i}T06:00:00",
                "case_id": case_id,
                "kind": "overdue",
                "detail": detail,
            }
        )
    old["events"].insert({"at": "2026-03-10", "case_id": 1, "kind": "reminder", "detail": "x"})
    old.close()
    db = open_db(db_path)
    rows = list(db.query("SELECT case_id, kind, repeats, last_at FROM events ORDER BY id"))
    assert rows == [
        {"case_id": 1, "kind": "overdue", "repeats": 3, "last_at": "2026-03-12T06:00:00"},
        {"case_id": 2, "kind": "overdue", "repeats": None, "last_at": None},
        {"case_id": 1, "kind": "reminder", "repeats": None, "last_at": None},
    ]


def test_the_space_goes_back_in_a_few_transactions_not_one_per_page(db_path):
    from gateway.retention import give_back_space
    from gateway.store import write

    db = open_db(db_path)
    with write(db):
        for _ in range(600):
            db.execute("INSERT INTO raw_messages (id, raw) VALUES (NULL, randomblob(8000))")
    with write(db):
        db.execute("DELETE FROM raw_messages")
    free = db.execute("PRAGMA freelist_count").fetchone()[0]
    assert free > 1000  # pages of 4 KB
    begun = []
    db.conn.set_trace_callback(lambda sql: begun.append(sql) if sql.startswith("BEGIN") else None)
    assert give_back_space(db) == free
    assert len(begun) < free / 10  # paced: from ten pages a transaction up
    assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0


def test_the_purge_paces_its_batches_by_time_and_finds_its_cases_by_index(fresh_db):
    from gateway.retention import TARGET_S, Pace
    from gateway.store.retention import closed_before

    pace = Pace(200)
    pace.started = 0.0
    with time_machine_monotonic(10 * TARGET_S):  # ten times too long: a tenth the size
        pace.took()
    assert pace.size == 1
    for _ in range(20):
        pace.started = 0.0
        with time_machine_monotonic(TARGET_S / 4):
            pace.took()
    assert pace.size == 200  # never more than asked
    traced: list[str] = []
    fresh_db.conn.set_trace_callback(traced.append)
    closed_before(fresh_db, "2020")
    plan = " ".join(str(r) for r in fresh_db.execute("EXPLAIN QUERY PLAN " + traced[-1]))
    assert "idx_cases_to_purge" in plan


@contextlib.contextmanager
def time_machine_monotonic(value: float):
    """``time.monotonic()`` in gateway.retention answers ``value`` for a while."""
    from unittest import mock

    with mock.patch("gateway.retention.time.monotonic", return_value=value):
        yield
