"""Quarantine: messages parked for a human, with the raw bytes and the reason.

``release`` gives a message back to the pipeline (after a fix of the rules or the
code); ``drop`` ends it for good, keeping the record and the reason but not the bytes.
"""

from __future__ import annotations

from gateway.store import event, write
from gateway.store import quarantine as rows
from gateway.store.db import Database


class NotQuarantined(LookupError):
    """No quarantined message has that number."""


def _must_be_quarantined(db: Database, row_id: int) -> None:
    if rows.get_quarantined(db, row_id) is None:
        raise NotQuarantined(f"message {row_id} is not in quarantine")


def release(db: Database, row_id: int, who: str = "cli") -> None:
    """Back to ``received``, attempts reset: the pipeline decides it again."""
    _must_be_quarantined(db, row_id)
    with write(db):
        rows.set_received(db, row_id)
        event(db, "released", f"released from quarantine by {who}", message_id=row_id)


def drop(db: Database, row_id: int, why: str, who: str = "cli") -> None:
    """End it: state ``dropped`` with the reason; the raw bytes are removed."""
    _must_be_quarantined(db, row_id)
    with write(db):
        rows.set_dropped(db, row_id, why)
        event(db, "dropped", f"{why} (by {who})", message_id=row_id)
