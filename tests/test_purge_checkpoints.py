"""A purge keeps SQLite's checkpoints out of its COMMITs (issue 22: on the million-case
log most of its writes over 100 ms were short ones whose COMMIT copied the WAL into the
file and synced it): automatic checkpoints are off while it runs, on again after (also
when it fails), and it checkpoints between its writes instead, outside them."""

from __future__ import annotations

import itertools

import pytest
from purge_helpers import NOW, closed_cases

from gateway import retention
from gateway.store import open_db, write
from gateway.store import retention as rows


@pytest.fixture
def db(db_path):
    database = open_db(db_path)
    closed_cases(database, 40)
    yield database
    database.close()


def _freed(db, blobs: int) -> int:
    """Free pages in the file: ``blobs`` rows of 8 KB written, then deleted."""
    with write(db):
        db.execute("CREATE TABLE filler (b BLOB)")
        for _ in range(blobs):
            db.execute("INSERT INTO filler VALUES (randomblob(8000))")
    with write(db):
        db.execute("DELETE FROM filler")
    return rows.free_pages(db)


def autocheckpoint(db) -> int:
    return db.execute("PRAGMA wal_autocheckpoint").fetchone()[0]


def test_no_checkpoint_in_a_purge_commit_and_one_between_its_writes(db, monkeypatch):
    seen, checkpoints = [], []
    purge_cases = rows.purge_cases

    def spying(database, cases):
        seen.append(autocheckpoint(database))
        return purge_cases(database, cases)

    def checkpointing(database):
        checkpoints.append(database.conn.in_transaction)

    monkeypatch.setattr(rows, "purge_cases", spying)
    monkeypatch.setattr(rows, "checkpoint", checkpointing)
    monkeypatch.setattr(retention, "CHECKPOINT_S", 0.0)
    before = autocheckpoint(db)
    assert before > 0
    report = retention.purge(db, 365, today=NOW, batch=5)
    assert report.cases == 40 and len(seen) > 1
    assert set(seen) == {0}
    assert autocheckpoint(db) == before
    assert len(checkpoints) > len(seen) and not any(checkpoints)


def test_checkpoints_at_commit_are_on_again_when_a_purge_fails(db, monkeypatch):
    def failing(database, cases):
        raise RuntimeError("disk full")

    before = autocheckpoint(db)
    monkeypatch.setattr(rows, "purge_cases", failing)
    with pytest.raises(RuntimeError):
        retention.purge(db, 365, today=NOW)
    assert autocheckpoint(db) == before


def test_a_pace_is_due_a_checkpoint_at_most_every_checkpoint_s(monkeypatch):
    clock = iter([0.0, 0.05, 0.12, 0.15, 0.3])
    monkeypatch.setattr(retention.time, "monotonic", lambda: next(clock))
    pace = retention.Pace(10)  # its clock starts at 0.0
    assert [pace.checkpoint_due() for _ in range(4)] == [False, True, False, True]


def test_a_few_free_pages_stay_for_the_next_writes_and_many_go_back(db, monkeypatch):
    """A day's purge frees a few pages that intake soon writes again: they stay until
    the free pages are more than ``KEEP_FREE`` of the file."""
    free = _freed(db, 100)
    monkeypatch.setattr(retention, "KEEP_FREE", (free + 1) / rows.file_pages(db))
    assert retention.give_back_space(db) == 0 and rows.free_pages(db) == free
    monkeypatch.setattr(retention, "KEEP_FREE", (free - 1) / rows.file_pages(db))
    assert retention.give_back_space(db) == free and rows.free_pages(db) == 0


def test_a_vacuum_step_ends_when_its_time_is_up(db, monkeypatch):
    """A page's move costs well under a millisecond, or tens of ms when the pages pointing
    to it come from disk: a step stops once its time has passed, whatever it was asked
    to give back."""
    free = _freed(db, 30)
    # the step's start, then its clock before the second page and the third (past 25
    # ms), and whatever else reads the clock after it
    clock = itertools.chain([0.0, 0.001, 0.03], itertools.repeat(0.04))
    monkeypatch.setattr(rows.time, "monotonic", lambda: next(clock))
    with write(db):
        rows.vacuum_step(db, free, seconds=0.025)
    assert rows.free_pages(db) == free - 2


def test_a_vacuum_step_gives_back_one_page_even_when_its_time_is_up(db, monkeypatch):
    """Late from the start (the thread held up), a step still moves a page: one that
    moved none would look to the purge as if auto_vacuum were off, and it would stop."""
    free = _freed(db, 10)
    clock = itertools.chain([0.0], itertools.repeat(1.0))
    monkeypatch.setattr(rows.time, "monotonic", lambda: next(clock))
    with write(db):
        rows.vacuum_step(db, free, seconds=0.025)
    assert rows.free_pages(db) == free - 1
