"""How ``make bench-scale`` times the writes of a purge or a job (``WriteClock``) and
whether intake keeps answering meanwhile (``Probe``, an SMTP message every half second)."""

from __future__ import annotations

import smtplib
import threading
import time


class WriteClock:
    """The length of every write transaction on one connection: from the return of BEGIN
    IMMEDIATE, when it holds the write lock, to the end of COMMIT (or ROLLBACK). COMMIT
    itself does work (FTS5 writes its segments and merges them there, and the WAL is
    written), so it is timed to its return. The wait for the lock before is kept apart
    (``waits``): SQLite's busy handler sleeps 1, 2, 5, 10... ms between its tries, so a
    writer that found intake's 5 ms write under way waited up to 80 ms holding nothing."""

    def __init__(self, db):
        self.asked: float | None = None
        self.begun: float | None = None
        self.lengths: list[float] = []
        self.waits: list[float] = []
        self.kind, self.kinds = "", []  # what each write did, when the caller says
        db.conn.set_trace_callback(self._trace)
        db.conn = _TimedConnection(db.conn, self)

    def _trace(self, sql: str) -> None:
        if sql.startswith("BEGIN IMMEDIATE"):
            self.asked = time.perf_counter()

    def holding(self) -> None:
        """BEGIN IMMEDIATE has returned: the write lock is this connection's."""
        self.begun = time.perf_counter()
        if self.asked is not None:
            self.waits.append((self.begun - self.asked) * 1000)
            self.asked = None

    def ended(self) -> None:
        if self.begun is not None:
            self.lengths.append((time.perf_counter() - self.begun) * 1000)
            self.kinds.append(self.kind or "other")
            self.begun, self.kind = None, ""

    def longest_by_kind(self) -> dict[str, float]:
        """The longest write of each kind the caller named (``kind``)."""
        found: dict[str, float] = {}
        for length, kind in zip(self.lengths, self.kinds, strict=True):
            found[kind] = round(max(found.get(kind, 0.0), length), 1)
        return found

    def longest(self) -> float:
        return round(max(self.lengths, default=0.0), 1)

    def longest_wait(self) -> float:
        return round(max(self.waits, default=0.0), 1)

    def over(self, ms: float = 100.0) -> int:
        """How many writes took longer than ``ms``."""
        return sum(length > ms for length in self.lengths)


class _TimedConnection:
    """A sqlite3 connection that tells the clock when BEGIN IMMEDIATE, COMMIT or ROLLBACK
    has returned."""

    def __init__(self, conn, clock: WriteClock):
        self._conn, self._clock = conn, clock

    def execute(self, sql, *args):
        cursor = self._conn.execute(sql, *args)
        if isinstance(sql, str):
            said = sql.strip().upper()
            if said.startswith("BEGIN IMMEDIATE"):
                self._clock.holding()
            elif said in ("COMMIT", "ROLLBACK"):
                self._clock.ended()
        return cursor

    def rollback(self) -> None:
        self._conn.rollback()
        self._clock.ended()

    def __getattr__(self, name: str):
        return getattr(self._conn, name)


class Probe:
    """An SMTP message to the intake every half second; each answer's code and wait."""

    def __init__(self, port: int):
        self.port, self.waits, self.codes = port, [], []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        raw = b"From: probe@vennesla.kommune.example\r\nSubject: probe\r\n\r\nprobe\r\n"
        while not self.stop.wait(0.5):
            t = time.perf_counter()
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
                    client.sendmail("probe@example.org", ["support@trygghet-agder.example"], raw)
                self.codes.append(250)
            except smtplib.SMTPResponseException as exc:
                self.codes.append(exc.smtp_code)
            self.waits.append((time.perf_counter() - t) * 1000)

    def __enter__(self) -> Probe:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def summary(self) -> dict:
        return {"probes": len(self.codes), "refused_4xx": sum(400 <= c < 500 for c in self.codes),
                "longest_wait_ms": round(max(self.waits, default=0.0), 1)}  # fmt: skip
