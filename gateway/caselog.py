"""Reading the case log for people: a case with its messages and events, in order."""

from __future__ import annotations

from gateway.store import event, get_raw, write
from gateway.store.db import Database


def original_text(db: Database, message_id: int) -> str | None:
    """The body of a stored message as it arrived (None once purged)."""
    from gateway.parse import UnparseableMessage, parse

    raw = get_raw(db, message_id)
    if raw is None:
        return None
    try:
        return parse(raw).body
    except UnparseableMessage:
        return None


def record_original_view(db: Database, case_id: int, message_id: int) -> None:
    """Reading personal data is on record too."""
    with write(db):
        event(
            db,
            "original-viewed",
            "gateway cases show --original",
            case_id=case_id,
            message_id=message_id,
        )
