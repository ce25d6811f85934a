"""What every write transaction of the gateway does last: the texts it stored go into
the search index of the texts (``case_words``) and their words into the index of search
terms (``case_terms``), all in one insert into each; and the cases' references and
subjects it stored into theirs (``case_titles``, ``titles_due``), in one insert.

The triggers on ``messages`` and ``cases`` note a text or a case as due (``texts_due``,
``titles_due``; schema m017_i22_texts_by_transaction, m017_i22_titles_by_transaction)
instead of writing the indexes themselves, and ``store.write``, ``WriteGroup`` and
``QuietWriteGroup`` (with merging still held) call ``before_commit`` before COMMIT. Written by the
triggers, FTS5 wrote a segment for every message: each write of a message is in a
savepoint of its own (the pipeline's, and sqlite-utils' for each update), and FTS5
writes out what it holds at every savepoint. On a log of a million cases those
segments filled a level of 64 within a batch and set off FTS5's crisis merge inside the
pipeline's commit. A text or title taken out or changed is still taken out of its index
at once, by its trigger, unless it is due, and so was never in it.

While the daemon's pipeline thread runs, it indexes the texts itself when it is idle
(``when_idle``, ``add_idle``), and the writes of that process leave them due, up to
``BACKLOG``: in a burst the pipeline thread is what limits the speed, and indexing the
texts in its commits was an eighth of its time (py-spy, 1000 reports of 5-20 KB; 0.4 ms
a report of its 3.4-3.6 ms of CPU in alternating runs). A search finds a report's words
once the burst is over (its reference and subject at once). Past ``BACKLOG`` every
write adds a chunk again, so that a load that never stops is never far behind.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from gateway.store.db import Database

DUE_CHUNK = 200  # texts that go into the indexes in one insert each, at most
DUE_CHARS = 4_000_000  # ... and characters (a string of SQLite's has a limit: 1e9 bytes)
TITLES_CHUNK = 500  # cases whose reference and subject go into their index in one insert
CHUNKS = 2  # chunks of each a write adds at most: a backlog (a bulk change made past the
# gateway, 76 ms a chunk of 200 texts) is added a little at each write, and by the idle
# merger (gateway/merging.py), not all in one write that holds the lock for seconds
BACKLOG = 2000  # texts left due while the daemon's pipeline is busy, at most (when_idle)
IDLE_CHUNK = 50  # texts the idle pipeline thread adds in one write: the sender's and
# intake's writes wait for it, as the last relays of a burst leave

_idle: dict[str, int] = {}  # database files whose daemon indexes when idle: how many
_idle_lock = threading.Lock()


@contextlib.contextmanager
def when_idle(path: str) -> Iterator[None]:
    """While this lasts, the writes of this process to the database at ``path`` (its
    resolved name) leave the texts they store due, up to ``BACKLOG``: the caller adds
    them with ``add_idle`` when it has nothing else to do (the daemon's pipeline thread,
    gateway/merging.py). Other processes (the command line) still index at each write."""
    with _idle_lock:
        _idle[path] = _idle.get(path, 0) + 1
    try:
        yield
    finally:
        with _idle_lock:
            _idle[path] -= 1
            if not _idle[path]:
                del _idle[path]


def before_commit(db: Database) -> None:
    """What every write of the gateway does last (``store.write``, ``WriteGroup``,
    ``QuietWriteGroup``): ``add_due``, on a connection that ``open_db`` opened (a log
    migrated that far: one opened otherwise, as an old log in the tests, has no due
    tables). While ``when_idle`` holds for its database: the cases due, and one chunk of
    texts only once ``BACKLOG`` of them are due."""
    if not getattr(db, "texts_due", False):
        return
    if getattr(db, "location", None) not in _idle:
        add_due(db)
        return
    if texts_waiting(db, BACKLOG) == BACKLOG:  # a load that never lets it idle
        _add_texts(db, _due(db))  # a chunk a write
    _add_titles_due(db)


def add_idle(db: Database) -> int:
    """Add up to ``IDLE_CHUNK`` of the texts due and the cases due (in the caller's write
    transaction; ``when_idle``); returns how many."""
    texts = _due(db, IDLE_CHUNK)
    if texts:
        _add_texts(db, texts)
    return len(texts) + _add_titles_due(db)


def add_due(db: Database) -> int:
    """Add the texts due to the search index and their terms to the index of terms (in
    the caller's write transaction), in one insert into each for every ``DUE_CHUNK`` of
    them (fewer when they are long), and the cases due to theirs; returns how many. A
    text written by a connection that does not call this (the sqlite3 shell) waits for
    the gateway's next write: nothing is lost, and it is found a little later. At most
    ``CHUNKS`` chunks of each: the rest waits for the next write (``owed``)."""
    return _in_chunks(lambda: _due(db), lambda ids: _add_texts(db, ids)) + _add_titles_due(db)


def _add_titles_due(db: Database) -> int:
    return _in_chunks(lambda: _titles_due(db), lambda ids: _add_titles(db, ids))


def _in_chunks(due: Callable[[], list[int]], add: Callable[[list[int]], None]) -> int:
    done = 0
    for _ in range(CHUNKS):
        if not (ids := due()):
            break
        add(ids)
        done += len(ids)
    return done


def _add_texts(db: Database, ids: list[int]) -> None:
    marks = ",".join("?" * len(ids))
    texts = f"FROM messages WHERE id IN ({marks}) AND case_id IS NOT NULL AND new_text IS NOT NULL"
    db.conn.execute(  # in the order of their row ids: FTS5 then holds them all
        f"INSERT INTO case_words (rowid, body) SELECT (case_id << 32) + id, new_text {texts} "
        "ORDER BY 1",
        ids,
    )
    db.conn.execute(
        "INSERT INTO case_terms (rowid, body) SELECT 1, body FROM (SELECT "
        f"group_concat(new_text, char(10)) AS body {texts}) WHERE body IS NOT NULL",
        ids,
    )
    db.conn.execute("DELETE FROM texts_due WHERE message_id <= ?", [ids[-1]])


def _titles_due(db: Database) -> list[int]:
    rows = db.conn.execute(
        "SELECT case_id FROM titles_due ORDER BY case_id LIMIT ?", [TITLES_CHUNK]
    )
    return [case_id for (case_id,) in rows]


def _add_titles(db: Database, ids: list[int]) -> None:
    """The cases' references and subjects, into their index (``case_titles``)."""
    db.conn.execute(
        "INSERT INTO case_titles (rowid, reference, subject) SELECT id, reference, "
        f"subject FROM cases WHERE id IN ({','.join('?' * len(ids))}) ORDER BY id",
        ids,
    )
    db.conn.execute("DELETE FROM titles_due WHERE case_id <= ?", [ids[-1]])


def texts_waiting(db: Database, most: int = 100_000) -> int:
    """How many texts wait to go into the search index, counted up to ``most`` (the
    metrics' scrape and every write of ``when_idle`` read this: a bulk change past the
    gateway may leave millions)."""
    found = db.conn.execute("SELECT COUNT(*) FROM (SELECT 1 FROM texts_due LIMIT ?)", [most])
    return found.fetchone()[0]


def owed(db: Database) -> bool:
    """Whether texts or cases wait to be indexed (a read: no transaction needed)."""
    found = db.conn.execute(
        "SELECT EXISTS (SELECT 1 FROM texts_due) OR EXISTS (SELECT 1 FROM titles_due)"
    )
    return bool(found.fetchone()[0])


def _due(db: Database, most: int | None = None) -> list[int]:
    """The next texts due, in order: ``most`` of them (``DUE_CHUNK``), or as many as fit
    in ``DUE_CHARS`` (one at least)."""
    rows = db.conn.execute(
        "SELECT message_id, chars FROM texts_due ORDER BY message_id LIMIT ?",
        [most or DUE_CHUNK],
    )
    ids, chars = [], 0
    for message_id, length in rows:
        chars += length
        if ids and chars > DUE_CHARS:
            break
        ids.append(message_id)
    return ids
