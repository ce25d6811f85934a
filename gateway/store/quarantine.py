"""Messages in quarantine: listed, read, given back to the pipeline, or dropped."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.store import drop_raw, update
from gateway.store.db import Database
from gateway.store.states import MessageState


@dataclass(frozen=True)
class QuarantinedMessage:
    """A parked message as an administrator sees it (no raw bytes)."""

    id: int
    received_at: str
    mailbox: str | None
    from_addr: str | None
    subject: str | None
    size: int | None
    reason: str | None
    source: str | None = None


_COLUMNS = "id, received_at, mailbox, from_addr, subject, size, reason"


def list_quarantined(db: Database) -> list[QuarantinedMessage]:
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM messages WHERE state = 'quarantined' ORDER BY id"
    ).fetchall()
    return [QuarantinedMessage(*row) for row in rows]


def get_quarantined(db: Database, row_id: int) -> QuarantinedMessage | None:
    row = db.execute(
        f"SELECT {_COLUMNS}, source FROM messages WHERE id = ? AND state = 'quarantined'",
        [row_id],
    ).fetchone()
    return QuarantinedMessage(*row) if row else None


def set_received(db: Database, row_id: int) -> None:
    """Back to ``received``, attempts reset; in the caller's transaction."""
    update(db, "messages", row_id,
           {"state": MessageState.RECEIVED.value, "outcome": None, "attempts": 0})  # fmt: skip


def set_dropped(db: Database, row_id: int, why: str) -> None:
    """State ``dropped`` with the reason, raw bytes removed; in the caller's transaction."""
    update(db, "messages", row_id,
           {"state": MessageState.DROPPED.value, "outcome": "dropped", "reason": why})  # fmt: skip
    drop_raw(db, "id = ?", [row_id])
