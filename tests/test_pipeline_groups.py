"""Group commit: the pipeline carries out several messages in one write transaction,
each in a savepoint of its own, and no one sees a group's rows before it commits."""

from __future__ import annotations

import email

import pytest
import worker_tasks
from conftest import ROOT, make_mail

from gateway import pipeline as pipeline_module
from gateway.intake import accept
from gateway.pipeline import Pipeline
from gateway.prepare import load_keyed
from gateway.render import Renderer
from gateway.settings import Settings
from gateway.store import WriteGroup, open_db, write
from gateway.workers import Workers


def reports(n: int) -> list[bytes]:
    return [make_mail(subject=f"Trygghetsalarm {i} uten kontakt") for i in range(n)]


@pytest.fixture
def log(tmp_path, ruleset):
    """A case log on disk (a second connection sees only what is committed) and a
    pipeline on it; ``log.writes`` counts the write transactions begun."""
    db = open_db(tmp_path / "log.db")
    renderer = Renderer("avviksgateway@trygghet-agder.example", "Avviksgatewayen")
    db.pipeline = Pipeline(db, lambda: ruleset, renderer, Settings())
    db.writes = []
    db.conn.set_trace_callback(lambda sql: db.writes.append(sql) if sql == "BEGIN IMMEDIATE" else 0)
    yield db
    db.close()


def stored(db, raws: list[bytes]) -> list[int]:
    return [accept(db, raw, "support", "test") for raw in raws]


def test_a_batch_is_carried_out_in_one_write_transaction(log, monkeypatch):
    monkeypatch.setattr(pipeline_module, "GROUP_SECONDS", 60.0)
    stored(log, reports(6))
    log.writes.clear()
    assert log.pipeline.process_batch() == 6
    assert len(log.writes) == 2  # the claim, and one group for all six
    assert log.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 6


def test_a_group_commits_when_its_time_is_up(log, monkeypatch):
    monkeypatch.setattr(pipeline_module, "GROUP_SECONDS", 0.0)
    stored(log, reports(4))
    log.writes.clear()
    assert log.pipeline.process_batch() == 4
    assert len(log.writes) == 1 + 4  # the claim, and each message alone
    assert log.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 4


def test_a_big_message_is_planned_outside_the_group(log, monkeypatch):
    monkeypatch.setattr(pipeline_module, "GROUP_SECONDS", 60.0)
    monkeypatch.setattr(pipeline_module, "PLAN_IN_GROUP_BYTES", 1)  # every one is "big"
    stored(log, reports(3))
    log.writes.clear()
    assert log.pipeline.process_batch() == 3
    assert len(log.writes) == 1 + 3  # the group committed before planning each


def test_one_failing_message_is_quarantined_alone(log, monkeypatch):
    monkeypatch.setattr(pipeline_module, "GROUP_SECONDS", 60.0)
    ids = stored(log, reports(5))
    real = pipeline_module.carry_out

    def failing(stage, facts, plan, shown=None):
        real(stage, facts, plan, shown)  # its writes must be undone with it
        if facts.arrival.row_id == ids[2]:
            raise RuntimeError("broken on purpose")

    monkeypatch.setattr(pipeline_module, "carry_out", failing)
    log.writes.clear()
    assert log.pipeline.process_batch() == 5
    assert len(log.writes) == 2
    states = dict(log.execute("SELECT id, state FROM messages WHERE direction = 'in'").fetchall())
    assert [states[i] for i in ids] == ["done", "done", "quarantined", "done", "done"]
    assert log.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 4
    assert log.execute("SELECT COUNT(*) FROM messages WHERE case_id IS NULL AND direction = 'in'"
                       ).fetchone()[0] == 1  # fmt: skip


def test_others_see_a_group_only_once_it_is_committed(log, tmp_path, monkeypatch):
    """The sender reads the outbox through its own connection: it must not find mail
    whose decision could still be rolled back."""
    monkeypatch.setattr(pipeline_module, "GROUP_SECONDS", 60.0)
    ids = stored(log, reports(3))
    other = open_db(tmp_path / "log.db")
    seen = []
    real = pipeline_module.carry_out

    def watched(stage, facts, plan, shown=None):
        real(stage, facts, plan, shown)
        seen.append(other.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    monkeypatch.setattr(pipeline_module, "carry_out", watched)
    assert log.pipeline.process_batch() == 3
    assert seen == [0, 0, 0]
    assert other.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] > 0
    assert other.execute("SELECT COUNT(*) FROM messages WHERE state = 'done' AND id IN "
                         "(?, ?, ?)", ids).fetchone()[0] == 3  # fmt: skip
    other.close()


def test_a_reply_finds_the_case_opened_just_before_it_in_the_group(log, monkeypatch):
    monkeypatch.setattr(pipeline_module, "GROUP_SECONDS", 60.0)
    report = make_mail()
    first_id = email.message_from_bytes(report)["Message-ID"]
    reply = make_mail(
        subject="Re: Trygghetsalarm uten kontakt",
        body="Hei igjen,\n\nAlarmen virker fortsatt ikke.\n\nKari\n",
        headers={"In-Reply-To": first_id, "References": first_id},
    )
    first, second = stored(log, [report, reply])
    log.writes.clear()
    assert log.pipeline.process_batch() == 2
    assert len(log.writes) == 2  # both in one group
    (cases,) = log.execute("SELECT COUNT(*) FROM cases").fetchone()
    assert cases == 1
    rows = dict(log.execute("SELECT id, case_id FROM messages WHERE id IN (?, ?)", [first, second]))
    assert rows[first] is not None and rows[second] == rows[first]


def test_a_write_group_that_raises_leaves_nothing_and_frees_the_lock(tmp_path):
    db = open_db(tmp_path / "log.db")
    db.execute("CREATE TABLE t (x)")
    with pytest.raises(RuntimeError), WriteGroup(db, 60.0) as group:
        with group.unit():
            db.execute("INSERT INTO t VALUES (1)")
        with group.unit():
            raise RuntimeError("gone")
    assert not group.open
    with write(db):  # the process's turn at the database was given back
        db.execute("INSERT INTO t VALUES (2)")
    assert [r[0] for r in db.execute("SELECT x FROM t")] == [2]
    db.close()


class Spying(Workers):
    """Workers that note, each time the pipeline is told a worker's answer is awaited,
    whether the pipeline still holds a write transaction then."""

    def ahead(self, rows, rules, own, wanted, before_waiting=lambda: None):
        def told():
            before_waiting()
            self.holding.append(self.db.conn.in_transaction)

        yield from super().ahead(rows, rules, own, wanted, before_waiting=told)


def test_no_write_lock_is_held_while_waiting_for_a_worker(tmp_path):
    settings = Settings(data_dir=tmp_path / "w", rules_file=ROOT / "rules.yaml",
                        smtp_intake_port=None, pipeline_workers=2)  # fmt: skip
    db = open_db(settings.database_path)
    ruleset, key = load_keyed(settings.rules_file)
    workers = Spying(1, settings, lambda r: key, task=worker_tasks.slow)
    workers.db, workers.holding = db, []
    renderer = Renderer(settings.gateway_address, settings.gateway_name)
    pipeline = Pipeline(db, lambda: ruleset, renderer, settings, workers)
    try:
        stored(db, reports(4))
        assert pipeline.process_batch() == 4
    finally:
        workers.close()
    assert workers.holding and not any(workers.holding)
    assert db.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 4
    db.close()


def test_the_sender_is_woken_at_each_commit_with_the_rows_committed(log, tmp_path, monkeypatch):
    """The daemon passes ``wake_sender.set``: relays leave while the rest of the batch is
    decided, and what the sender is woken for is there for its own connection."""
    monkeypatch.setattr(pipeline_module, "GROUP_SECONDS", 0.0)  # each message commits
    other = open_db(tmp_path / "log.db")
    seen: list[int] = []
    log.pipeline.committed = lambda: seen.append(
        other.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    )
    stored(log, reports(3))
    assert log.pipeline.process_batch() == 3
    assert len(seen) == 3  # once per commit, not once per batch
    assert seen == sorted(seen) and seen[0] > 0 and seen[-1] > seen[0]
