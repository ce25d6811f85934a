"""Retention: closed cases past their keeping time lose their texts, nothing else does."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from conftest import ROOT, make_mail

from gateway.cli import cli
from gateway.intake import accept
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.retention import purge
from gateway.settings import Settings
from gateway.store import get_raw, open_db, write

NOW = dt.datetime.now(dt.UTC)


def seeded(db, ruleset):
    """Three cases (closed long ago, closed lately, open long ago) and an old triage."""
    for subject in ("Gammel lukket", "Ny lukket", "Gammel åpen"):
        accept(db, make_mail(subject=subject), "support", "t")
    accept(db, make_mail(frm="x@gmail.example", subject="Gammel triage"), "support", "t")
    Pipeline(
        db, lambda: ruleset, Renderer("gw@trygghet-agder.example", "GW"), Settings()
    ).process_batch()
    old = (NOW - dt.timedelta(days=500)).isoformat(timespec="milliseconds")
    recent = (NOW - dt.timedelta(days=10)).isoformat(timespec="milliseconds")
    db.execute("UPDATE messages SET received_at = ?", [old])
    db.execute(
        "UPDATE cases SET status = 'lukket', closed_at = ? WHERE subject = 'Gammel lukket'", [old]
    )
    db.execute(
        "UPDATE cases SET status = 'lukket', closed_at = ? WHERE subject = 'Ny lukket'", [recent]
    )


def test_purge_removes_exactly_the_old_closed_cases_texts(fresh_db, ruleset):
    seeded(fresh_db, ruleset)
    before = {r["subject"]: r for r in fresh_db["cases"].rows}
    dry = purge(fresh_db, 365, dry_run=True, today=NOW)
    # The report, its relay and receipt; the triaged message and the note to the admins.
    assert dry.cases == 1 and dry.messages == 5
    assert fresh_db["cases"].count_where("purged_at IS NOT NULL") == 0  # dry: nothing changed

    report = purge(fresh_db, 365, today=NOW)
    assert (report.cases, report.messages) == (1, 5)
    old = fresh_db["cases"].get(before["Gammel lukket"]["id"])
    assert old["subject"] is None and old["purged_at"]
    # What statistics need stays.
    for key in (
        "reference",
        "flow",
        "kind",
        "status",
        "received_at",
        "reporting_party",
        "receiving_party",
        "municipality",
        "close_due",
    ):
        assert old[key] == before["Gammel lukket"][key]
    gone = list(fresh_db["messages"].rows_where("case_id = ?", [old["id"]]))
    assert len(gone) == 3 and all(get_raw(fresh_db, m["id"]) is None for m in gone)
    assert all(m["subject"] is None for m in gone)
    kept = list(
        fresh_db["messages"].rows_where(
            "case_id IN (?, ?)", [before["Ny lukket"]["id"], before["Gammel åpen"]["id"]]
        )
    )
    assert len(kept) == 6 and all(get_raw(fresh_db, m["id"]) is not None for m in kept)
    triage = next(fresh_db["messages"].rows_where("direction = 'in' AND outcome = 'triage'"))
    assert get_raw(fresh_db, triage["id"]) is None
    assert fresh_db["events"].count_where("kind = 'purged'") == 2
    assert purge(fresh_db, 365, today=NOW).messages == 0  # nothing twice


def test_purge_command(db_path, ruleset):
    db = open_db(db_path)
    seeded(db, ruleset)
    rules = ["--database", str(db_path), "--rules", str(ROOT / "rules.yaml")]
    dry = CliRunner().invoke(cli, ["purge", "--dry-run", *rules])
    assert dry.exit_code == 0 and "would purge 1 closed case(s)" in dry.output
    done = CliRunner().invoke(cli, ["purge", *rules])
    assert "purged 1 closed case(s) and 5 message(s)" in done.output


def test_the_scheduled_retention_job_purges_in_its_own_run(fresh_db, ruleset):
    """The job runs apart from the scheduler's claim transaction, in short transactions
    of its own (a write inside a write used to fail, and the job never purged anything)."""
    from gateway.scheduler.runner import Runner

    seeded(fresh_db, ruleset)
    runner = Runner(
        fresh_db, lambda: ruleset, Renderer("gw@trygghet-agder.example", "GW"), Settings()
    )
    assert runner.run("retention", NOW)
    assert runner.last_run("retention")["result"] == "ok"
    assert fresh_db["cases"].count_where("purged_at IS NOT NULL") == 1


def test_a_purge_goes_in_short_transactions_and_gives_the_space_back(db_path, ruleset):
    """A year's backlog is purged a few cases at a time, so that intake and the sender
    get their turn in between; the file shrinks afterwards (auto_vacuum incremental)."""
    db = open_db(db_path)
    assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    big = b"x" * 600_000
    for i in range(5):
        accept(db, make_mail(subject=f"Avvik {i}", attachments=[("logg.bin", big,
               "application/octet-stream")]), "support", "test")  # fmt: skip
    Pipeline(
        db, lambda: ruleset, Renderer("gw@trygghet-agder.example", "GW"), Settings()
    ).process_batch()
    with write(db):
        db.execute("UPDATE cases SET status = 'lukket', closed_at = '2020-01-01T00:00:00'")
        db.execute("UPDATE messages SET received_at = '2020-01-01T00:00:00'")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = db_path.stat().st_size
    writes: list[str] = []
    db.conn.set_trace_callback(lambda sql: writes.append(sql) if sql == "BEGIN IMMEDIATE" else 0)
    report = purge(db, 365, today=NOW, batch=2)
    db.conn.set_trace_callback(None)
    assert report.cases == 5
    assert len(writes) >= 4  # 2 + 2 + 1 cases, and the summary
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert db_path.stat().st_size < before - 2_000_000
