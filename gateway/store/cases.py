"""Cases and their participants in the case log: found by reference or thread headers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass

from gateway.store import insert, now, update
from gateway.store.db import Database
from gateway.store.states import CaseStatus, Direction


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


def add_participant(db: Database, case_id: int, address: str, side: str, role: str) -> bool:
    """Add a participant unless the address takes part already (one statement, where a
    look-up and an insert were two); whether it was added."""
    return (
        db.conn.execute(
            "INSERT INTO participants (case_id, address, side, role, added_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (case_id, address) DO NOTHING",
            [case_id, address, side, role, now()],
        ).rowcount
        == 1
    )


def participant(db: Database, case_id: int, address: str) -> tuple[str, str] | None:
    """(side, role) of an address in a case, or None."""
    row = db.execute(
        "SELECT side, role FROM participants WHERE case_id = ? AND address = ?",
        [case_id, address],
    ).fetchone()
    return (row[0], row[1]) if row else None


WRITES_ONLY = "helpdesk"  # a participant's role: takes part, is never sent anything


def participant_addresses(db: Database, case_id: int, side: str) -> list[str]:
    """The side's participants that receive mail, in the order they joined."""
    return [
        r[0]
        for r in db.execute(
            "SELECT address FROM participants WHERE case_id = ? AND side = ? AND role <> ? "
            "ORDER BY added_at, address",
            [case_id, side, WRITES_ONLY],
        )
    ]


def writers(db: Database, case_id: int) -> list[tuple[str, str]]:
    """(address, side) of the participants that write but never receive (helpdesks)."""
    rows = db.execute(
        "SELECT address, side FROM participants WHERE case_id = ? AND role = ? "
        "ORDER BY added_at, address",
        [case_id, WRITES_ONLY],
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def reference_and_subject(db: Database, case_id: int) -> tuple[str, str | None]:
    reference, subject = db.execute(
        "SELECT reference, subject FROM cases WHERE id = ?", [case_id]
    ).fetchone()
    return reference, subject


@dataclass(frozen=True)
class NewCase:
    """A case as it is opened: the columns written once, when the report is relayed."""

    reference: str
    flow: str | None
    kind: str
    urgent: bool
    reporting_party: str | None
    reporter_address: str
    receiving_party: str | None
    municipality: str | None
    mailbox: str | None
    subject: str
    received_at: str
    measures_due: str | None  # None: a suggestion without deadlines
    close_due: str | None
    escalate_due: str | None
    external_ref: str | None
    rule_hits: tuple[str, ...]
    rule_misses: tuple[str, ...]
    first_message_id: int
    related_reference: str | None
    confidential: bool = False  # #konfidensiell: the receivers never see the reporter
    reporter_name: str | None = None  # kept for a confidential case only


def insert_case(db: Database, case: NewCase) -> int:
    """Open a case (in the caller's transaction); returns its id. Status: registered."""
    values = {f.name: getattr(case, f.name) for f in dataclasses.fields(case)}  # not asdict:
    values |= {  # it deep-copies every value, a tenth of a millisecond a case
        "urgent": int(case.urgent),
        "rule_hits": json.dumps(list(case.rule_hits)),
        "rule_misses": json.dumps(list(case.rule_misses)),
        "status": CaseStatus.REGISTERED,
        "severity": None,
        "updated_at": case.received_at,
    }
    if case.confidential:  # else the columns' defaults (0, NULL), as before issue 21
        values["confidential"] = 1
    else:
        del values["confidential"], values["reporter_name"]
    return insert(db, "cases", values)


def update_case(db: Database, case_id: int, values: dict) -> None:
    """Change columns of a case (in the caller's transaction)."""
    update(db, "cases", case_id, values)


@dataclass(frozen=True)
class ThreadIds:
    """The Message-IDs a new message in a case refers to: the first and the last."""

    first: str | None
    last: str | None


def thread_ids(db: Database, case_id: int, first_message_id: int) -> ThreadIds:
    last = db.execute(
        "SELECT message_id FROM messages WHERE case_id = ? AND direction = ? "
        "ORDER BY id DESC LIMIT 1",
        [case_id, Direction.OUT],
    ).fetchone()
    first = db.execute(
        "SELECT message_id FROM messages WHERE id = ?", [first_message_id]
    ).fetchone()
    return ThreadIds(first[0] if first else None, last[0] if last else None)
