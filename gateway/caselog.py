"""Reading the case log for people: a case with its messages and events, in order."""

from __future__ import annotations

from dataclasses import asdict

from gateway.store import caselog as rows
from gateway.store import event, get_raw, write
from gateway.store.db import Database


class NoSuchCase(LookupError):
    """No case has that reference."""


def list_cases(db: Database, status: str | None = None, limit: int = 50) -> list[dict]:
    """The newest cases, as plain values for the command line."""
    return [asdict(case) for case in rows.newest_cases(db, status, limit)]


def get_case(db: Database, reference: str) -> dict:
    """The case row, its messages (without raw bytes) and events, oldest first, as plain
    values for the command line."""
    case = rows.case_by_reference(db, reference.upper())
    if case is None:
        raise NoSuchCase(f"no case {reference}")
    return asdict(case) | {
        "messages": [asdict(m) for m in rows.messages_of(db, case.id)],
        "events": [asdict(e) for e in rows.events_of(db, case.id)],
    }


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
