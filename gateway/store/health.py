"""Counts over the case log for ``gateway status`` and the metrics scrape."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.store.db import Database
from gateway.store.states import MessageState


@dataclass(frozen=True)
class EventLine:
    """One line of the event log, as people read it."""

    at: str
    kind: str
    detail: str | None


def _tally(db: Database, what: str, *bs: str) -> int:
    """The sum of a tally (kept by triggers, see ``schema.m009_tallies``) over these
    values of its second key, or all."""
    where, params = (f" AND b IN ({','.join('?' * len(bs))})", list(bs)) if bs else ("", [])
    return db.execute(
        f"SELECT COALESCE(SUM(n), 0) FROM tallies WHERE what = ?{where}", [what, *params]
    ).fetchone()[0]


def waiting_count(db: Database) -> int:
    """Incoming messages stored but not decided yet."""
    return _tally(db, "state", MessageState.RECEIVED)


def waiting_and_oldest(db: Database) -> tuple[int, str | None]:
    """(incoming messages not decided yet, when the oldest of them arrived)."""
    count = waiting_count(db)
    if not count:
        return 0, None
    (oldest,) = db.execute(  # among the few waiting: the planner walked the index of
        "SELECT MIN(received_at) FROM messages INDEXED BY idx_messages_state "  # times
        "WHERE direction = 'in' AND state = ?",  # from the oldest, 2 s to minutes on a
        [MessageState.RECEIVED],  # million cases whenever a few messages waited
    ).fetchone()
    return count, oldest


def triage_count(db: Database) -> int:
    """Incoming messages that went to triage or are held."""
    return _tally(db, "decided", "triage", "hold")


def quarantined_count(db: Database) -> int:
    return _tally(db, "state", MessageState.QUARANTINED)


LAST_OF_KIND = (
    "SELECT id, at, kind, detail FROM events INDEXED BY idx_events_kind "
    "WHERE kind = ? ORDER BY id DESC LIMIT ?"
)


def last_events(db: Database, kinds: tuple[str, ...], limit: int = 5) -> list[EventLine]:
    """The newest events of these kinds, newest first.

    One query per kind, each walking the kind's index from its newest entry: with ``kind
    IN (...)`` SQLite sorted every event of those kinds (200,000 on a log of a million
    cases, a second or more) to keep five."""
    rows = []
    for kind in dict.fromkeys(kinds):  # each kind once
        rows += db.execute(LAST_OF_KIND, [kind, limit]).fetchall()
    newest = sorted(rows, key=lambda row: row[0], reverse=True)[:limit]
    return [EventLine(*row[1:]) for row in newest]


def received_by_mailbox(db: Database) -> list[tuple[str | None, int]]:
    """(mailbox, count) of the messages taken in."""
    rows = db.execute("SELECT a, n FROM tallies WHERE what = 'received' AND n > 0")
    return [(mailbox or None, n) for mailbox, n in rows]


def decided_by_mailbox(db: Database) -> list[tuple[str | None, str | None, int]]:
    """(mailbox, decision, count) of the messages taken in and handled."""
    rows = db.execute("SELECT a, b, n FROM tallies WHERE what = 'decided' AND n > 0")
    return [(mailbox or None, decided, n) for mailbox, decided, n in rows]
