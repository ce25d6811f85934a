"""The pipeline's queue: stored incoming messages waiting to be decided."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.store.db import Database
from gateway.store.states import Direction, MessageState


@dataclass(frozen=True)
class Claimed:
    """A waiting message, with the attempt this claim counted."""

    id: int
    mailbox: str | None
    received_at: str
    attempts: int  # including this one
    size: int
    sha256: str


def claim(db: Database, limit: int) -> list[Claimed]:
    """Count an attempt on up to ``limit`` waiting messages, oldest first (call inside
    ``write(db)``): a message that kills the process is not tried for ever."""
    rows = db.execute(
        "SELECT id, mailbox, received_at, attempts, size, sha256 FROM messages "
        "WHERE direction = ? AND state = ? ORDER BY id LIMIT ?",
        [Direction.IN, MessageState.RECEIVED, limit],
    ).fetchall()
    if rows:
        db.execute(
            f"UPDATE messages SET attempts = attempts + 1 WHERE id IN "
            f"({','.join('?' * len(rows))})",
            [r[0] for r in rows],
        )
    return [Claimed(r[0], r[1], r[2], r[3] + 1, r[4], r[5]) for r in rows]
