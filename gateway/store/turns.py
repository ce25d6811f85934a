"""Writers of one process take turns at the database, first come, first served.

SQLite lets one writer at a time in, and a connection that finds the database locked
polls it with sleeps of 1 to 100 ms. Between threads of one process that is the wrong
tool: the pipeline commits and begins its next transaction within microseconds, so a
sender or intake thread asleep in SQLite's busy handler misses the gap again and again
and starves (seen in the benchmark: each waited over half the time). So every write
transaction of the process first takes its turn here, in arrival order, and the lock
is handed to the next waiter directly on release, with no polling and no barging.
SQLite's own busy timeout still covers other processes (the CLI, a second gateway).
"""

from __future__ import annotations

import sqlite3
import threading
from collections import deque


class Turns:
    """A first-come, first-served lock that gives up after ``timeout`` seconds."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._owner: int | None = None  # the thread whose turn it is
        self._waiting: deque[threading.Lock] = deque()

    def acquire(self, timeout: float) -> None:
        """Wait for this thread's turn; raises ``sqlite3.OperationalError`` like SQLite
        does ("database is locked") when the turn does not come within ``timeout``, and
        at once when this thread has the turn already (a write inside a write would
        otherwise wait for itself)."""
        me = threading.get_ident()
        if self._owner == me:
            raise sqlite3.OperationalError(
                "cannot start a transaction within a transaction (write() inside write())"
            )
        with self._mutex:
            if not self._held:
                self._held, self._owner = True, me
                return
            gate = threading.Lock()
            gate.acquire()
            self._waiting.append(gate)
        if not gate.acquire(timeout=timeout):
            with self._mutex:
                try:
                    self._waiting.remove(gate)
                except ValueError:
                    pass  # handed over just as the wait ran out: the turn is ours after all
                else:
                    raise sqlite3.OperationalError(
                        f"database is locked (another thread's write took over {timeout:.0f} s)"
                    )
        self._owner = me  # handed over by release(): the lock stays held, now by us

    @property
    def taken(self) -> bool:
        """Whether some thread has the turn now: a hint, true or not a moment later."""
        return self._held

    def release(self) -> None:
        with self._mutex:
            self._owner = None
            if self._waiting:
                self._waiting.popleft().release()  # straight to the next in line
            else:
                self._held = False


_by_path: dict[str, Turns] = {}
_by_path_mutex = threading.Lock()


def for_path(path: str) -> Turns:
    """The one ``Turns`` of this process for the database file at ``path``."""
    with _by_path_mutex:
        return _by_path.setdefault(path, Turns())
