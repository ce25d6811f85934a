"""Reading the case log for people: a case with its messages and events, in order."""

from __future__ import annotations

from sqlite_utils import Database

from gateway.store import get_raw


class NoSuchCase(LookupError):
    """No case has that reference."""


def list_cases(db: Database, status: str | None = None, limit: int = 50) -> list[dict]:
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    return list(
        db.query(
            f"SELECT reference, flow, kind, status, urgent, municipality, receiving_party, "
            f"received_at, close_due FROM cases {where} ORDER BY id DESC LIMIT ?",
            [*params, limit],
        )
    )


def get_case(db: Database, reference: str) -> dict:
    """The case row, its messages (without raw bytes) and events, oldest first."""
    rows = list(db.query("SELECT * FROM cases WHERE reference = ?", [reference.upper()]))
    if not rows:
        raise NoSuchCase(f"no case {reference}")
    case = rows[0]
    case["messages"] = list(
        db.query(
            "SELECT id, direction, outcome, received_at, from_addr, to_addrs, subject, new_text, "
            "state FROM messages WHERE case_id = ? ORDER BY id",
            [case["id"]],
        )
    )
    case["events"] = list(
        db.query("SELECT at, kind, detail FROM events WHERE case_id = ? ORDER BY id", [case["id"]])
    )
    return case


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
    from gateway.store import event, write

    with write(db):
        event(
            db,
            "original-viewed",
            "gateway cases show --original",
            case_id=case_id,
            message_id=message_id,
        )
