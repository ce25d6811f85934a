"""The case log: plain SQLite tables a person can open and read, through sqlite-utils.

Tables: ``messages`` (every message in and out, raw bytes kept), ``cases``, ``events``
(what happened, with reasons and the rules that matched), ``outbox`` (deliveries and
their states), ``reference_numbers`` (gap-free tracking numbers) and ``mailboxes``
(IMAP UIDVALIDITY and last UID). The states of ``messages`` and ``outbox`` are the
crash-safety story: a row is stored before anything is acknowledged, and every step
moves it to a new state inside one transaction, so a restart picks up where it left off.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlite_utils import Database, plugins

from gateway.store import clock, indexing, turns
from gateway.store.checkpoints import Checkpoints
from gateway.store.schema import migrations

# sqlite-utils loads the plugins of every package installed beside it when it opens a
# database (setuptools entry points: some 20 ms of each command's start, to find none), and
# a plugin's hooks would run on the case log's connections. The gateway uses none.
plugins._plugins_loaded = True

BUSY_TIMEOUT_S = 10  # how long a writer waits for its turn before "database is locked"


def now() -> str:
    """The current time as stored: ISO 8601 in UTC, to the millisecond."""
    return clock.current().isoformat(timespec="milliseconds")  # the real time but in a demo


def open_db(path: Path | str | None) -> Database:
    """Open (creating, readable by its owner only) and migrate the database.

    ``None`` gives an in-memory database, for tests.
    """
    if path is None:
        db = Database(memory=True)
    else:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # the case log is private
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        # Opened in one thread, used in another (never by two at once): allow that.
        db = Database(sqlite3.connect(path, check_same_thread=False))
        db.enable_wal()
    # Threads of this process that write take turns (see gateway/store/turns.py).
    db.turns = turns.for_path(str(Path(path).resolve())) if path else turns.Turns()
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
    db.execute("PRAGMA synchronous = NORMAL")
    db.location = str(path.resolve()) if path is not None else None  # the file, resolved
    if path is not None:  # checkpoints run after a write has let go of the database
        db.checkpoints = Checkpoints(path=db.location)
    migrations.apply(db)
    db.texts_due = True  # its writes index the texts they stored (indexing.before_commit)
    return db


def _after_write(db: Database) -> None:
    checkpoints = getattr(db, "checkpoints", None)
    if checkpoints is not None and not db.conn.in_transaction:
        checkpoints.after_write(db)


@contextlib.contextmanager
def write(db: Database) -> Iterator[Database]:
    """One write transaction, taken at once (BEGIN IMMEDIATE) so that concurrent
    writers wait their turn instead of failing when a read turns into a write. Threads
    of this process queue up first (``db.turns``), so that none of them starves."""
    lock = getattr(db, "turns", None)
    if lock is not None:
        lock.acquire(BUSY_TIMEOUT_S)
    try:
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
            indexing.before_commit(db)  # the texts it stored, into the search indexes
            db.conn.execute("COMMIT")
        except BaseException:
            if db.conn.in_transaction:  # a failed last step or COMMIT leaves it open
                db.conn.rollback()
            raise
    finally:
        if lock is not None:
            lock.release()
    _after_write(db)


def writer_busy(db: Database) -> bool:
    """Whether another thread of this process writes now, so that ``write`` would wait
    for it (the sender then keeps a delivery's record for its next write)."""
    lock = getattr(db, "turns", None)
    return lock is not None and lock.taken


class WriteGroup:
    """One write transaction shared by several short pieces of work (``unit``), committed
    once the time budget is about to run out, on ``commit``, or at the end.

    Each commit costs a WAL flush and a new segment in every full-text index (merged
    later, at a cost that grows with the index): a group pays it once for many pieces.
    The other writers (intake, the sender) wait for the whole group, so it is kept to
    ``seconds``: a unit that would end past it commits first. Opened at the first unit.
    ``committed`` is called after each commit (the pipeline wakes the sender with it).
    """

    def __init__(self, db: Database, seconds: float, committed: Callable[[], object] | None = None):
        self.db, self.seconds, self.committed = db, seconds, committed
        self.began: float | None = None  # monotonic time of BEGIN; None: no transaction
        self.mark = 0.0  # when the last unit ended (or the transaction began)

    @property
    def open(self) -> bool:
        return self.began is not None

    @contextlib.contextmanager
    def unit(self) -> Iterator[Database]:
        """One piece of work in the group's transaction. Raising rolls the whole group
        back (a piece that may fail alone catches that itself, in a savepoint)."""
        if self.began is None:
            self._begin()
        try:
            yield self.db
        except BaseException:
            self.rollback()
            raise
        at = time.monotonic()
        if at - self.began + (at - self.mark) >= self.seconds:  # the next one would pass it
            self.commit()
        else:
            self.mark = at

    def _begin(self) -> None:
        lock = getattr(self.db, "turns", None)
        if lock is not None:
            lock.acquire(BUSY_TIMEOUT_S)
        try:
            self.db.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        self.began = self.mark = time.monotonic()

    def _last_step(self) -> None:
        """What the transaction does last, before its COMMIT (a failure rolls it back)."""
        indexing.before_commit(self.db)

    def commit(self) -> None:
        """Commit what the group holds (nothing when no transaction is open)."""
        self._end("COMMIT")

    def rollback(self) -> None:
        self._end("ROLLBACK")

    def _end(self, how: str) -> None:
        if self.began is None:
            return
        self.began = None
        try:
            if how == "COMMIT":
                self._last_step()
                self.db.conn.execute("COMMIT")
            else:
                self.db.conn.rollback()
        except BaseException:
            self.db.conn.rollback()  # a failed COMMIT leaves it open: end it
            raise
        finally:
            lock = getattr(self.db, "turns", None)
            if lock is not None:
                lock.release()
        _after_write(self.db)
        if how == "COMMIT" and self.committed is not None:
            self.committed()

    def __enter__(self) -> WriteGroup:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        self.rollback() if kind is not None else self.commit()


@functools.lru_cache(maxsize=64)
def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(f"[{c}]" for c in columns)
    return f"INSERT INTO [{table}] ({names}) VALUES ({', '.join('?' * len(columns))})"


def insert(db: Database, table: str, row: dict) -> int:
    """Insert one row; returns its id. Plain SQL, cached per shape: the hot path writes
    several rows per message, and sqlite-utils checks the table's schema on each."""
    return db.conn.execute(_insert_sql(table, tuple(row)), list(row.values())).lastrowid


def update(db: Database, table: str, row_id: int, values: dict) -> None:
    """Update one row by id, in plain SQL (see ``insert``)."""
    sets = ", ".join(f"[{c}] = ?" for c in values)
    db.conn.execute(f"UPDATE [{table}] SET {sets} WHERE id = ?", [*values.values(), row_id])


def update_where(db: Database, table: str, key: str, value: object, values: dict) -> None:
    """Update the rows whose ``key`` is ``value`` (tables keyed by name, not id)."""
    if values:
        sets = ", ".join(f"[{c}] = ?" for c in values)
        db.conn.execute(f"UPDATE [{table}] SET {sets} WHERE [{key}] = ?", [*values.values(), value])


def events(
    db: Database, kind: str, detail: str, case_ids: list[int], message_id: int | None = None
) -> None:
    """The same line in the event log of each of ``case_ids``, at one time (in the
    caller's transaction): one statement run for all, not one built per case. The
    review digest marks each case it lists, several thousand after a fortnight's
    backlog on a log of a million cases, 500 to a write (followup/digest.py)."""
    stamp = now()
    db.conn.executemany(
        "INSERT INTO events (at, case_id, message_id, kind, detail) VALUES (?, ?, ?, ?, ?)",
        [(stamp, case_id, message_id, kind, detail) for case_id in case_ids],
    )


def event(
    db: Database,
    kind: str,
    detail: str = "",
    *,
    case_id: int | None = None,
    message_id: int | None = None,
    rules: list[str] | None = None,
    at: str | None = None,
) -> None:
    """Append one line to the event log (call inside the caller's transaction); ``at``:
    when it happened, if not now (a delivery recorded after it was sent)."""
    insert(
        db,
        "events",
        {
            "at": at or now(),
            "case_id": case_id,
            "message_id": message_id,
            "kind": kind,
            "detail": detail,
            "rules": json.dumps(rules) if rules else None,
        },
    )


BLOB_BYTES = 1 << 20  # from this size on, raw bytes go through SQLite's blob API


def put_raw(db: Database, row_id: int, data: bytes) -> None:
    """Store a message's raw bytes (call in the transaction that inserts its row). A big
    message is written into a zeroblob through the blob API: binding it as a parameter
    would copy it twice, and the statement cache would keep one copy alive."""
    if len(data) < BLOB_BYTES:
        db.conn.execute("INSERT INTO raw_messages (id, raw) VALUES (?, ?)", [row_id, data])
        return
    db.conn.execute(
        "INSERT INTO raw_messages (id, raw) VALUES (?, zeroblob(?))", [row_id, len(data)]
    )
    with db.conn.blobopen("raw_messages", "raw", row_id) as blob:
        blob.write(data)


def raw_size(db: Database, row_id: int) -> int | None:
    """The size of the stored raw bytes, None when there are none (purged, dropped)."""
    row = db.execute("SELECT length(raw) FROM raw_messages WHERE id = ?", [row_id]).fetchone()
    return row[0] if row else None


def get_raw(db: Database, row_id: int) -> bytes | None:
    """A message's raw bytes, read once (a big one through the blob API, straight into
    one bytes object), or None when they are gone. One statement gives the size and,
    for a message under BLOB_BYTES, the bytes."""
    row = db.conn.execute(
        "SELECT length(raw), CASE WHEN length(raw) < ? THEN raw END FROM raw_messages WHERE id = ?",
        [BLOB_BYTES, row_id],
    ).fetchone()
    if row is None or row[0] is None or row[0] < BLOB_BYTES:
        return row[1] if row else None
    with db.conn.blobopen("raw_messages", "raw", row_id, readonly=True) as blob:
        return blob.read()


def drop_raw(db: Database, where: str, params: list | tuple = ()) -> None:
    """Remove the raw bytes of the messages matching ``where`` (an SQL condition on
    ``messages``): purged after retention, or dropped from quarantine."""
    db.conn.execute(
        f"DELETE FROM raw_messages WHERE id IN (SELECT id FROM messages WHERE {where})", params
    )


def next_reference(db: Database, prefix: str, year: int) -> str:
    """Allocate the next tracking reference, e.g. AVVIK-2026-0042.

    Call inside ``write(db)``: the number is taken in the same transaction as the case,
    so a rollback gives it back (no gaps) and writers queue (no duplicates).
    """
    # Plain SQL: sqlite-utils' upsert reads the schema (four queries) on every call.
    # (The upsert needs SQLite 3.24; RETURNING would need 3.35, newer than some distributions.)
    db.conn.execute(
        "INSERT INTO reference_numbers (prefix, year, last) VALUES (?, ?, 1) "
        "ON CONFLICT (prefix, year) DO UPDATE SET last = last + 1",
        [prefix, year],
    )
    (number,) = db.conn.execute(
        "SELECT last FROM reference_numbers WHERE prefix = ? AND year = ?", [prefix, year]
    ).fetchone()
    return f"{prefix}-{year}-{number:04d}"


@contextlib.contextmanager
def savepoint(db: Database) -> Iterator[Database]:
    """A part of the caller's transaction that is undone alone when it raises."""
    with db.atomic():
        yield db


def begin_read(db: Database) -> None:
    """Open one read snapshot (BEGIN): everything read until ``end_read`` sees one state."""
    db.conn.execute("BEGIN")


def end_read(db: Database) -> None:
    db.conn.execute("COMMIT")
