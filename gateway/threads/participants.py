"""Who takes part in a case, and on which side: the reporter's or the receiver's.

A reply is relayed to the other side. The reporter and the relay's receivers (and the
copies the rules added) are there from the start; an address a participant puts on
Cc joins the side of the one who added it. Anyone else is held for the administrators.
"""

from __future__ import annotations

from sqlite_utils import Database

from gateway.store import insert, now

REPORTER, RECEIVER = "reporter", "receiver"


def add(db: Database, case_id: int, address: str, side: str, role: str) -> bool:
    """Add a participant (call inside the caller's transaction); False if already there."""
    address = address.strip().lower()
    if not address or side_of(db, case_id, address) is not None:
        return False
    insert(
        db,
        "participants",
        {"case_id": case_id, "address": address, "side": side, "role": role, "added_at": now()},
    )
    return True


def side_of(db: Database, case_id: int, address: str) -> str | None:
    row = db.execute(
        "SELECT side FROM participants WHERE case_id = ? AND address = ?",
        [case_id, address.strip().lower()],
    ).fetchone()
    return row[0] if row else None


def role_of(db: Database, case_id: int, address: str) -> str | None:
    """How the address came in: reporter, receiver, copy, cc or party."""
    row = db.execute(
        "SELECT role FROM participants WHERE case_id = ? AND address = ?",
        [case_id, address.strip().lower()],
    ).fetchone()
    return row[0] if row else None


def addresses(db: Database, case_id: int, side: str) -> list[str]:
    return [
        r[0]
        for r in db.execute(
            "SELECT address FROM participants WHERE case_id = ? AND side = ? "
            "ORDER BY added_at, address",
            [case_id, side],
        )
    ]


def other(side: str) -> str:
    return RECEIVER if side == REPORTER else REPORTER
