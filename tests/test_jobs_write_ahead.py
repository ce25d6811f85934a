"""A job with many mails writes them ahead of its claim, a few to a short transaction
(issue 22: 262 reminders in the claim's one transaction held a million-case log for up
to 142 ms). Each reminder is checked against its case's mark as it is written, so a run
cut short between two transactions and made up, or two gateways on one due time, send
each reminder exactly once, and the run is recorded once."""

from __future__ import annotations

import pytest
import time_machine
from test_followup import local, race, report_at, runner_for
from test_jobs_outside_writes import Writes
from test_threads import Conversation

from gateway.followup import deadlines
from gateway.scheduler import runner as scheduler
from gateway.store import open_db

DUE = local(2026, 3, 12, 7, 0)  # two working days before the measures deadline of 16 March


def three_cases_due(db, ruleset) -> list[str]:
    talk = Conversation(db, ruleset)
    return [report_at(talk, local(2026, 3, 2, 10, i), subject=f"Alarm {i}")[0] for i in range(3)]


def reminders_per_case(db) -> list[int]:
    rows = db.execute(
        "SELECT c.reference, COUNT(o.id) FROM cases c LEFT JOIN outbox o "
        "ON o.case_id = c.id AND o.purpose = 'reminder' GROUP BY c.id ORDER BY c.id"
    )
    return [n for _, n in rows]


def runs_of(db) -> list[tuple[str, str]]:
    rows = db.execute("SELECT due_at, result FROM job_runs WHERE job = 'reminders'")
    return rows.fetchall()


def test_reminders_are_queued_in_short_transactions_before_the_claim(
    fresh_db, ruleset, monkeypatch
):
    three_cases_due(fresh_db, ruleset)
    monkeypatch.setattr(scheduler, "WRITE_S", 0, raising=False)  # one reminder a transaction
    runner = runner_for(fresh_db, ruleset)
    writes = Writes(fresh_db)
    with time_machine.travel(DUE, tick=False):
        assert runner.run("reminders", DUE)
    queued = [w for w in writes.done if any("INSERT INTO [outbox]" in s for s in w)]
    # (the trace shows an insert again for each trigger it fires: counted once by its read)
    assert [sum(s.startswith("SELECT message_id FROM outbox") for s in w) for w in queued] == [
        1, 1, 1,
    ]  # fmt: skip
    assert not any(s.startswith("INSERT OR IGNORE INTO job_runs") for w in queued for s in w)
    assert reminders_per_case(fresh_db) == [1, 1, 1]
    assert runner.last_run("reminders")["detail"].startswith("3 reminder(s)")


def test_a_crash_between_two_transactions_is_made_up_with_each_reminder_once(
    fresh_db, ruleset, monkeypatch
):
    three_cases_due(fresh_db, ruleset)
    monkeypatch.setattr(scheduler, "WRITE_S", 0, raising=False)
    real, calls = deadlines.queue, []

    def dies_at_the_second(db, mail):
        calls.append(mail)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies in the second transaction
        return real(db, mail)

    monkeypatch.setattr(deadlines, "queue", dies_at_the_second)
    with time_machine.travel(DUE, tick=False), pytest.raises(KeyboardInterrupt):
        runner_for(fresh_db, ruleset).run("reminders", DUE)
    assert reminders_per_case(fresh_db) == [1, 0, 0]  # the first transaction stays
    assert runs_of(fresh_db) == []  # not recorded: the run is made up
    monkeypatch.setattr(deadlines, "queue", real)
    restarted = runner_for(fresh_db, ruleset)
    later = DUE.replace(minute=10)
    with time_machine.travel(later, tick=False):
        assert restarted.run("reminders", DUE, later)
        assert not restarted.run("reminders", DUE, later)
    assert reminders_per_case(fresh_db) == [1, 1, 1]
    assert [result for _, result in runs_of(fresh_db)] == ["ok"]
    assert restarted.last_run("reminders")["detail"].startswith("2 reminder(s)")


def test_two_gateways_on_one_due_time_send_each_reminder_once(db_path, ruleset, monkeypatch):
    three_cases_due(open_db(db_path), ruleset)
    monkeypatch.setattr(scheduler, "WRITE_S", 0, raising=False)  # as many turns as can interleave
    runners = [runner_for(open_db(db_path), ruleset) for _ in range(2)]
    with time_machine.travel(DUE, tick=False):
        assert race(runners, "reminders", DUE) == [False, True]
    db = open_db(db_path)
    assert reminders_per_case(db) == [1, 1, 1]
    assert [result for _, result in runs_of(db)] == ["ok"]
    events = db.execute("SELECT COUNT(*) FROM events WHERE kind = 'reminder'").fetchone()[0]
    assert events == 3
