"""When the write-ahead log is copied back into the database file, and by whom.

SQLite's own automatic checkpoint runs in the COMMIT call that fills the log past 1000
pages, after the lock is let go but before this process passes its turn on, so the
process's other threads wait for it. So a connection checkpoints (PASSIVE: it neither
waits for nor blocks a writer) after its write has ended and its turn is passed on, at
most every ``seconds`` (``Checkpoints``).

In the daemon even that is the writing thread's time: the pipeline thread copied pages
and synced the file between its batches. So the daemon runs a ``Checkpointer``, a
thread with a connection of its own that a write only wakes: the writers' connections
then checkpoint nothing themselves, and SQLite's own checkpoint in a COMMIT is kept as
a net at ``NET_PAGES`` (a log the checkpointer could not keep up with). Measured on the
log of a million cases, in alternating bursts of 500 reports against an empty log:
0.90-0.94 of the empty log's speed with a thread (a first version, which checkpointed
every 0.5 s whether woken or not), 0.86-0.87 without.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

from gateway.store.db import Database

log = logging.getLogger(__name__)

SQLITE_DEFAULT_PAGES = 1000  # SQLite's own wal_autocheckpoint
NET_PAGES = 10_000  # while a checkpointer runs: ~40 MB of log before a COMMIT copies it

_running: dict[str, Checkpointer] = {}  # by the database file's resolved path
_lock = threading.Lock()


class Checkpointer:
    """A thread that checkpoints the database at ``path`` (PASSIVE) after writes, at most
    every ``seconds``; ``poke`` says a write has ended. ``start``/``stop`` it once."""

    def __init__(self, path: str, seconds: float = 0.5):
        self.path, self.seconds = path, seconds
        self.runs = 0  # checkpoints taken, and what SQLite said of the last one: busy,
        self.last: tuple[int, int, int] | None = None  # frames in the log, frames copied
        self._due, self._stop, self._hurry = threading.Event(), threading.Event(), threading.Event()
        self._waiting: list[threading.Event] = []  # settle() callers, till the next one
        self._thread = threading.Thread(target=self._run, name="checkpoints", daemon=True)

    def start(self) -> Checkpointer:
        """Start the thread; the writes to ``path`` wake this one from now on (one that
        ran before for the same file, say of a gateway that was never stopped, no more)."""
        with _lock:
            _running[self.path] = self
        self._thread.start()
        return self

    def poke(self) -> None:
        self._due.set()

    def settle(self, timeout: float = 30.0) -> bool:
        """Checkpoint what was written so far, now, and wait for it (the benchmark charges
        a burst the checkpoints of its own writes so). False if it did not end in time."""
        done = threading.Event()
        with _lock:
            self._waiting.append(done)
        self._hurry.set()
        self._due.set()
        return done.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread after a last checkpoint of what was written before."""
        with _lock:
            if _running.get(self.path) is self:
                del _running[self.path]
        self._stop.set()
        self._hurry.set()
        self._due.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, check_same_thread=False)
        try:
            while True:
                self._due.wait()
                self._due.clear()
                with _lock:
                    waiting, self._waiting = self._waiting, []
                self._checkpoint(conn)
                for done in waiting:
                    done.set()
                if self._stop.is_set():
                    return
                self._hurry.wait(self.seconds)  # at most every `seconds`, unless hurried
                self._hurry.clear()
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            self.last = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.runs += 1
        except sqlite3.Error as error:  # e.g. another checkpoint running: the next one
            log.warning("checkpoint of %s failed: %s", self.path, error)


def running(path: str) -> Checkpointer | None:
    """The checkpointer of the database at ``path`` (resolved), if one runs."""
    return _running.get(path)


class Checkpoints:
    """What a connection does after each of its writes (``after_write``): wake the
    checkpointer of its database if one runs, else checkpoint itself at most every
    ``seconds``. Either way SQLite's own checkpoint stays for a writer faster than that
    or one that writes outside ``write`` (1000 pages; ``NET_PAGES`` while a checkpointer
    runs). A net of 10,000 pages without a checkpointer made a purge's checkpoints ten
    times longer, still in its COMMIT; a purge turns SQLite's off while it runs and
    checkpoints between its writes itself, ``retention.paced``."""

    def __init__(self, seconds: float = 0.5, path: str | None = None):
        self.seconds, self.last, self.path = seconds, time.monotonic(), path
        self._net = SQLITE_DEFAULT_PAGES  # the wal_autocheckpoint this connection has

    def after_write(self, db: Database) -> None:
        thread = running(self.path) if self.path else None
        self._keep_net(db, NET_PAGES if thread else SQLITE_DEFAULT_PAGES)
        if thread is not None:
            thread.poke()
            return
        at = time.monotonic()
        if at - self.last >= self.seconds:
            self.last = at
            db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _keep_net(self, db: Database, pages: int) -> None:
        """SQLite's own checkpoint at ``pages``, set when that changes (a purge sets its
        own and puts back what it found)."""
        if self._net != pages:
            self._net = pages
            db.execute(f"PRAGMA wal_autocheckpoint = {pages}").fetchall()
