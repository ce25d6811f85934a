"""No scheduled job computes inside a write transaction (issue 22): each reads the case
log and renders its mail before it claims its run, and the claim's transaction only
writes; the notes on every case of a long overdue list follow in short transactions of
their own. The run is still claimed exactly once (tests/test_followup.py)."""

from __future__ import annotations

import datetime as dt
import re

import time_machine
from conftest import make_mail
from test_followup import local, report_at, runner_for
from test_threads import REPORTER, Conversation

from gateway.followup import common
from gateway.scheduler.config import JOBS

READS = ("FROM cases", "FROM events")  # what the jobs' choices read
INDEXING = re.compile(r"\b(texts|titles)_due\b")


class Writes:
    """The statements of each write transaction on one connection."""

    def __init__(self, db):
        self.open: list[str] | None = None
        self.done: list[list[str]] = []
        db.conn.set_trace_callback(self._trace)

    def _trace(self, sql: str) -> None:
        if sql.startswith("BEGIN IMMEDIATE"):
            self.open = []
        elif sql in ("COMMIT", "ROLLBACK") and self.open is not None:
            self.done.append(self.open)
            self.open = None
        elif self.open is not None and not INDEXING.search(sql):  # the store's last
            self.open.append(sql)  # step of every write (store/indexing.py)


def test_every_job_reads_before_its_write_and_notes_in_short_transactions(
    fresh_db, ruleset, monkeypatch
):
    monkeypatch.setattr(common.in_batches, "__defaults__", (2,))  # two notes a transaction
    talk = Conversation(fresh_db, ruleset)
    refs = [report_at(talk, local(2026, 3, 2, 10, i), subject=f"Alarm {i}")[0] for i in range(5)]
    with time_machine.travel(local(2026, 3, 2, 11, 0), tick=False):
        talk.send(make_mail(frm=REPORTER, subject="Enda en"), "support")
    runner = runner_for(fresh_db, ruleset)
    when = local(2026, 4, 1, 7, 15)  # every case long overdue
    writes = Writes(fresh_db)
    with time_machine.travel(when, tick=False):
        for job in JOBS:
            if job != "retention":  # its own short transactions: tests/test_retention.py
                assert runner.run(job, when)
    claims = [
        w for w in writes.done if any(s.startswith("INSERT OR IGNORE INTO job_runs") for s in w)
    ]
    assert len(claims) == len(JOBS) - 1
    for statements in claims:
        reads = [s for s in statements if s.startswith("SELECT") and any(r in s for r in READS)]
        assert reads == [], reads
    notes = [w for w in writes.done if w and all("events" in s or "tallies" in s for s in w)]
    assert len(notes) == 3  # six overdue cases, two to a transaction
    events = fresh_db.execute("SELECT COUNT(*) FROM events WHERE kind = 'overdue'").fetchone()
    assert events[0] == 6 and refs


def test_a_job_run_without_the_scheduler_still_prepares_itself(fresh_db, ruleset):
    """``gateway jobs run`` and older callers call the job alone: it reads for itself."""
    from test_followup import RENDERER

    from gateway.followup.context import JobContext
    from gateway.followup.deadlines import overdue_list
    from gateway.settings import Settings
    from gateway.store import write

    talk = Conversation(fresh_db, ruleset)
    report_at(talk, local(2026, 3, 2, 10, 0), subject="Alarm")
    now = dt.datetime(2026, 4, 1, 5, 0, tzinfo=dt.UTC)
    ctx = JobContext(fresh_db, ruleset, RENDERER, Settings(), now, None)
    with write(fresh_db):
        assert overdue_list(ctx) == "1 overdue case(s)"
