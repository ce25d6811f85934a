"""Counts over the case log for ``gateway status`` and the metrics scrape."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.store.db import Database


@dataclass(frozen=True)
class EventLine:
    """One line of the event log, as people read it."""

    at: str
    kind: str
    detail: str | None


def waiting_count(db: Database) -> int:
    """Incoming messages stored but not decided yet."""
    return db.execute(
        "SELECT COUNT(*) FROM messages WHERE direction = 'in' AND state = 'received'"
    ).fetchone()[0]


def waiting_and_oldest(db: Database) -> tuple[int, str | None]:
    """(incoming messages not decided yet, when the oldest of them arrived)."""
    (count, oldest), = db.execute(
        "SELECT COUNT(*), MIN(received_at) FROM messages "
        "WHERE direction = 'in' AND state = 'received'"
    ).fetchall()  # fmt: skip
    return count, oldest


def triage_count(db: Database) -> int:
    """Incoming messages that went to triage or are held."""
    return db.execute(
        "SELECT COUNT(*) FROM messages WHERE direction = 'in' AND outcome IN ('triage', 'hold')"
    ).fetchone()[0]


def quarantined_count(db: Database) -> int:
    return db.execute("SELECT COUNT(*) FROM messages WHERE state = 'quarantined'").fetchone()[0]


def last_events(db: Database, kinds: tuple[str, ...], limit: int = 5) -> list[EventLine]:
    """The newest events of these kinds, newest first."""
    rows = db.execute(
        f"SELECT at, kind, detail FROM events WHERE kind IN "
        f"({','.join('?' * len(kinds))}) ORDER BY id DESC LIMIT ?",
        [*kinds, limit],
    ).fetchall()
    return [EventLine(*row) for row in rows]


def received_by_mailbox(db: Database) -> list[tuple[str | None, int]]:
    """(mailbox, count) of the messages taken in."""
    return db.execute(
        "SELECT mailbox, COUNT(*) FROM messages WHERE direction = 'in' GROUP BY 1"
    ).fetchall()


def decided_by_mailbox(db: Database) -> list[tuple[str | None, str | None, int]]:
    """(mailbox, decision, count) of the messages taken in and handled."""
    return db.execute(
        "SELECT mailbox, COALESCE(outcome, state), COUNT(*) FROM messages "
        "WHERE direction = 'in' AND state != 'received' GROUP BY 1, 2"
    ).fetchall()
