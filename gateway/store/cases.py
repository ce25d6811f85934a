"""Cases and their participants in the case log: found by reference or thread headers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gateway.store import insert, now
from gateway.store.db import Database
from gateway.store.states import Direction


@dataclass(frozen=True)
class CaseRef:
    """What finding a case needs of it: id, reference, status, the receiving party."""

    case_id: int
    reference: str
    status: str
    receiving_party: str | None


_CASE = "SELECT c.id, c.reference, c.status, c.receiving_party FROM cases c"


def by_reference(db: Database, reference: str) -> CaseRef | None:
    row = db.execute(f"{_CASE} WHERE c.reference = ?", [reference.upper()]).fetchone()
    return CaseRef(*row) if row else None


def by_message_ids(db: Database, message_ids: list[str]) -> CaseRef | None:
    """The case of the newest message (in or out) with one of these Message-IDs."""
    if not message_ids:
        return None
    marks = ",".join("?" * len(message_ids))
    row = db.execute(
        f"{_CASE} JOIN messages m ON c.id = m.case_id WHERE m.message_id IN ({marks}) "
        "ORDER BY m.id DESC LIMIT 1",
        message_ids,
    ).fetchone()
    return CaseRef(*row) if row else None


def loop_count(db: Database, case_id: int, address: str, since: dt.datetime) -> int:
    """Messages from ``address`` threaded into the case since then (the loop brake)."""
    return db.execute(
        "SELECT COUNT(*) FROM messages WHERE direction = ? AND case_id = ? AND from_addr = ? "
        "AND outcome = 'thread' AND received_at > ?",
        [Direction.IN, case_id, address, since.isoformat(timespec="milliseconds")],
    ).fetchone()[0]


def add_participant(db: Database, case_id: int, address: str, side: str, role: str) -> None:
    insert(
        db,
        "participants",
        {"case_id": case_id, "address": address, "side": side, "role": role, "added_at": now()},
    )


def participant(db: Database, case_id: int, address: str) -> tuple[str, str] | None:
    """(side, role) of an address in a case, or None."""
    row = db.execute(
        "SELECT side, role FROM participants WHERE case_id = ? AND address = ?",
        [case_id, address],
    ).fetchone()
    return (row[0], row[1]) if row else None


def participant_addresses(db: Database, case_id: int, side: str) -> list[str]:
    return [
        r[0]
        for r in db.execute(
            "SELECT address FROM participants WHERE case_id = ? AND side = ? "
            "ORDER BY added_at, address",
            [case_id, side],
        )
    ]


def reference_and_subject(db: Database, case_id: int) -> tuple[str, str | None]:
    reference, subject = db.execute(
        "SELECT reference, subject FROM cases WHERE id = ?", [case_id]
    ).fetchone()
    return reference, subject
