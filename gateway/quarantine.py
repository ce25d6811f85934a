"""Quarantine: messages parked for a human, with the raw bytes and the reason.

``release`` gives a message back to the pipeline (after a fix of the rules or the
code); ``drop`` ends it for good, keeping the record and the reason but not the bytes.
"""

from __future__ import annotations

from sqlite_utils import Database

from gateway.store import drop_raw, event, get_raw, write

COLUMNS = "id, received_at, mailbox, from_addr, subject, size, reason"


class NotQuarantined(LookupError):
    """No quarantined message has that number."""


def list_quarantined(db: Database) -> list[dict]:
    return list(db.query(f"SELECT {COLUMNS} FROM messages WHERE state = 'quarantined' ORDER BY id"))


def get(db: Database, row_id: int) -> dict:
    rows = list(
        db.query(
            f"SELECT {COLUMNS}, source FROM messages WHERE id = ? AND state = 'quarantined'",
            [row_id],
        )
    )
    if not rows:
        raise NotQuarantined(f"message {row_id} is not in quarantine")
    return rows[0] | {"raw": get_raw(db, row_id)}


def release(db: Database, row_id: int, who: str = "cli") -> None:
    """Back to ``received``, attempts reset: the pipeline decides it again."""
    get(db, row_id)
    with write(db):
        db["messages"].update(row_id, {"state": "received", "outcome": None, "attempts": 0})
        event(db, "released", f"released from quarantine by {who}", message_id=row_id)


def drop(db: Database, row_id: int, why: str, who: str = "cli") -> None:
    """End it: state ``dropped`` with the reason; the raw bytes are removed."""
    get(db, row_id)
    with write(db):
        db["messages"].update(row_id, {"state": "dropped", "outcome": "dropped", "reason": why})
        drop_raw(db, "id = ?", [row_id])
        event(db, "dropped", f"{why} (by {who})", message_id=row_id)
