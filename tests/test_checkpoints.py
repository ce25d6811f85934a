"""The write-ahead log is copied back into the database file after a write has ended
and passed its turn on, not inside the COMMIT that fills the log (gateway/store):
SQLite's own checkpoint in that COMMIT held the other threads' turn for up to 300 ms
on a log of a million cases."""

from __future__ import annotations

from gateway.store import Checkpoints, WriteGroup, open_db, write


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
