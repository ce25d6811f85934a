"""The write-ahead log is copied back into the database file after a write has ended
and passed its turn on, not inside the COMMIT that fills the log (gateway/store):
SQLite's own checkpoint in that COMMIT held the other threads' turn for up to 300 ms
on a log of a million cases."""

from __future__ import annotations

import time

from gateway.store import Checkpoints, WriteGroup, open_db, write
from gateway.store.checkpoints import NET_PAGES, Checkpointer, running


def _checkpoints_seen(db) -> list[str]:
    """The checkpoints this connection runs from now on, as SQLite reports them."""
    seen: list[str] = []
    db.conn.set_trace_callback(lambda sql: seen.append(sql) if "wal_checkpoint" in sql else None)
    return seen


def test_a_write_checkpoints_after_it_let_go_of_its_turn(tmp_path, monkeypatch):
    path = tmp_path / "caselog.db"
    db = open_db(path)
    db.checkpoints = Checkpoints(seconds=0)  # every write
    turns_free = []
    original = Checkpoints.after_write

    def watched(self, database):
        turns_free.append(database.turns._owner is None and not database.conn.in_transaction)
        original(self, database)

    monkeypatch.setattr(Checkpoints, "after_write", watched)
    seen = _checkpoints_seen(db)
    with write(db):
        db.execute("CREATE TABLE t (x TEXT)")
        db.execute("INSERT INTO t VALUES ('a')")
    with WriteGroup(db, 1.0) as group:
        with group.unit():
            db.execute("INSERT INTO t VALUES ('b')")
    assert turns_free == [True, True]
    assert seen == ["PRAGMA wal_checkpoint(PASSIVE)"] * 2
    wal = path.with_name(path.name + "-wal")
    assert wal.stat().st_size > 0  # WAL mode: the log was written, then copied back


def test_writes_close_together_checkpoint_once_in_a_while(tmp_path):
    path = tmp_path / "caselog.db"
    db = open_db(path)
    db.checkpoints = Checkpoints(seconds=3600)
    seen = _checkpoints_seen(db)
    with write(db):
        db.execute("CREATE TABLE t (x TEXT)")
    for n in range(5):
        with write(db):
            db.execute("INSERT INTO t VALUES (?)", [str(n)])
    assert seen == []  # within the interval: none yet
    db.checkpoints.seconds = 0
    with write(db):
        db.execute("INSERT INTO t VALUES ('last')")
    assert seen == ["PRAGMA wal_checkpoint(PASSIVE)"]


def _wait_for(condition, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_with_a_checkpointer_running_the_writers_checkpoint_nothing_themselves(tmp_path):
    """The daemon's checkpointer copies the log back after writes, in its own thread;
    the writers only wake it, and SQLite's own checkpoint in their COMMIT is a net."""
    path = tmp_path / "caselog.db"
    db = open_db(path)
    thread = Checkpointer(str(path.resolve()), seconds=0).start()
    try:
        seen = _checkpoints_seen(db)
        with write(db):
            db.execute("CREATE TABLE t (x TEXT)")
        with WriteGroup(db, 1.0) as group:
            with group.unit():
                db.execute("INSERT INTO t VALUES ('b')")
        assert seen == []
        assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == NET_PAGES
        # everything in the log is copied back by the thread, soon
        assert _wait_for(lambda: thread.last is not None and thread.last[1] > 0)
        busy, frames, copied = thread.last
        assert busy == 0 and copied == frames
    finally:
        thread.stop()
    assert running(str(path.resolve())) is None
    with write(db):  # stopped: the writer checkpoints itself again, SQLite's own at 1000
        db.execute("INSERT INTO t VALUES ('c')")
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000


def test_a_checkpointer_of_a_gateway_never_stopped_gives_way_to_the_next(tmp_path):
    path = str((tmp_path / "caselog.db").resolve())
    open_db(path).close()
    first = Checkpointer(path).start()
    second = Checkpointer(path).start()
    assert running(path) is second
    first.stop()
    assert running(path) is second
    second.stop()
    assert running(path) is None


def test_settle_checkpoints_what_was_written_at_once_whatever_the_interval(tmp_path):
    path = str((tmp_path / "caselog.db").resolve())
    db = open_db(path)
    thread = Checkpointer(path, seconds=3600).start()
    try:
        with write(db):
            db.execute("CREATE TABLE t (x TEXT)")
        assert _wait_for(lambda: thread.runs == 1)  # the first at once, the next in an hour
        with write(db):
            db.execute("INSERT INTO t VALUES ('a')")
        time.sleep(0.1)
        assert thread.runs == 1
        assert thread.settle(5.0)
        busy, frames, copied = thread.last
        assert thread.runs == 2 and busy == 0 and frames == copied > 0
    finally:
        thread.stop()
