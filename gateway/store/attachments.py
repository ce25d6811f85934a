"""The messages of a case whose attachments an administrator may release (see
gateway/privacy/release.py and ``gateway attachments``)."""

from __future__ import annotations

from gateway.store.db import Database


def incoming(db: Database, case_id: int) -> list[int]:
    """The ids of the case's incoming messages, oldest first."""
    rows = db.execute(
        "SELECT id FROM messages WHERE case_id = ? AND direction = 'in' ORDER BY id", [case_id]
    ).fetchall()
    return [row[0] for row in rows]
