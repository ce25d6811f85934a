"""Writers of one process take turns at the database in the order they came (turns.py)."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time

import pytest

from gateway.store import open_db, write
from gateway.store.turns import Turns


def _wait_until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_waiters_get_their_turn_in_arrival_order_and_the_holder_cannot_jump_the_queue():
    turns, order = Turns(), []
    turns.acquire(1)

    def writer(name: str) -> None:
        turns.acquire(5)
        order.append(name)
        turns.release()

    threads = []
    for name in ("intake", "sender", "monitor"):
        threads.append(threading.Thread(target=writer, args=(name,)))
        threads[-1].start()
        queued = len(threads)
        _wait_until(lambda: len(turns._waiting) == queued)  # noqa: B023 (used at once)
    turns.release()
    turns.acquire(5)  # the releasing thread asks again at once: it goes to the back
    order.append("pipeline")
    turns.release()
    for thread in threads:
        thread.join()
    assert order == ["intake", "sender", "monitor", "pipeline"]


def test_a_turn_that_does_not_come_is_reported_like_a_locked_database():
    turns = Turns()
    turns.acquire(1)
    errors = []

    def impatient() -> None:
        try:
            turns.acquire(0.05)
        except sqlite3.OperationalError as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=impatient)
    thread.start()
    thread.join()
    assert errors and "database is locked" in errors[0]
    turns.release()
    turns.acquire(0.05)  # the one that gave up is out of the queue: the lock is free


def test_connections_to_one_database_file_share_their_turns(tmp_path):
    first, second = open_db(tmp_path / "g.db"), open_db(tmp_path / "." / "g.db")
    assert first.turns is second.turns
    assert open_db(tmp_path / "other.db").turns is not first.turns
    entered = threading.Event()

    def hold() -> None:
        with write(first):
            entered.set()
            time.sleep(0.2)
            first.execute("INSERT INTO events (at, kind, detail) VALUES ('t', 'a', 'first')")

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait(5)
    with write(second):  # waits for its turn, not in SQLite's sleeping busy handler
        second.execute("INSERT INTO events (at, kind, detail) VALUES ('t', 'b', 'second')")
    holder.join()
    assert [r[0] for r in second.execute("SELECT detail FROM events ORDER BY id")] == [
        "first",
        "second",
    ]


@pytest.mark.parametrize("fail", [False, True])
def test_the_turn_is_given_back_after_a_commit_and_after_a_rollback(tmp_path, fail):
    db = open_db(tmp_path / "g.db")
    with pytest.raises(RuntimeError) if fail else contextlib.nullcontext():
        with write(db):
            db.execute("INSERT INTO events (at, kind, detail) VALUES ('t', 'a', 'x')")
            if fail:
                raise RuntimeError("boom")
    db.turns.acquire(0.05)  # free again
    db.turns.release()
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == (0 if fail else 1)


def test_a_write_inside_a_write_fails_at_once_instead_of_waiting_for_itself(tmp_path):
    db = open_db(tmp_path / "g.db")
    started = time.monotonic()
    with write(db):
        with pytest.raises(sqlite3.OperationalError, match="within a transaction"):
            with write(open_db(tmp_path / "g.db")):
                pass
    assert time.monotonic() - started < 1.0
    with write(db):  # and the turn was given back
        pass
