"""Incoming messages in the case log: duplicates, end states, what waits for triage."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.store import event, update
from gateway.store.db import Database
from gateway.store.states import Direction, MessageState, OutboxState

_NO_ROW = 1 << 62  # "before every row": a message not stored yet (gateway classify)
_SAME_BYTES = (  # a literal direction: the index holds the incoming only (m017)
    "SELECT id FROM messages INDEXED BY idx_messages_sha256_in "
    f"WHERE direction = '{Direction.IN.value}' AND +id < ? AND +state = ? "
    "AND outcome != 'duplicate' AND sha256 = ? ORDER BY +id LIMIT 1"
)


def duplicate_of(
    db: Database,
    row_id: int | None,
    sha256: str,
    message_id: str,
    from_addr: str,
    raw: bytes,
) -> int | None:
    """An earlier incoming message that is this one again: the same bytes, or the same
    Message-ID from the same sender with the same body (fetched twice, sent to both
    mailboxes, resent by an MTA; only the transport headers differ). The same
    Message-ID with another body is kept: a reused id must not lose a report.

    The unary ``+`` keeps SQLite from reading these through the index on ``state``, which
    it would otherwise pick, scanning every message ever decided; the hash and the
    Message-ID find the few candidates at once.
    """
    before = row_id if row_id is not None else _NO_ROW
    same_bytes = db.execute(_SAME_BYTES, [before, MessageState.DONE, sha256]).fetchone()
    if same_bytes:
        return same_bytes[0]
    if not message_id:
        return None
    candidates = db.execute(
        "SELECT m.id, r.raw FROM messages m LEFT JOIN raw_messages r ON r.id = m.id "
        "WHERE +m.direction = ? AND +m.id < ? AND +m.state = ? "
        "AND m.outcome != 'duplicate' AND m.message_id = ? AND m.from_addr = ? "
        "ORDER BY +m.id LIMIT 5",
        [Direction.IN, before, MessageState.DONE, message_id, from_addr],
    ).fetchall()
    if candidates:
        mine = _body(raw)
        for other_id, other_raw in candidates:
            if other_raw is not None and _body(other_raw) == mine:
                return other_id
    return None


def _body(raw: bytes) -> bytes:
    """The bytes after the header block, line endings normalised."""
    parts = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)
    return parts[1].replace(b"\r\n", b"\n").strip() if len(parts) == 2 else b""


def head(db: Database, row_id: int, size: int = 65536) -> bytes:
    """The first bytes of a stored message (its header block), without reading it all."""
    row = db.execute("SELECT substr(raw, 1, ?) FROM raw_messages WHERE id = ?", [size, row_id])
    found = row.fetchone()
    return found[0] if found else b""


_DECODED = re.compile(r"Undeclared8BitHeader\(([^()]*)\)")


def finish(db: Database, row_id: int, values: dict) -> None:
    """Write a decided message's end state (``state`` done unless given) and what the
    case log may show of it (call in the caller's transaction). A header the parser
    decoded from undeclared 8-bit bytes (a defect, see ``gateway.parse``) is an event:
    what the rules read there is a guess at the sender's charset, as a mail client's."""
    update(db, "messages", row_id, {"state": MessageState.DONE, **values})
    for decoded in _DECODED.findall(values.get("defects") or ""):
        event(db, "header-decoded", f"undeclared 8-bit header {decoded}", message_id=row_id)


def quarantine(db: Database, row_id: int, reason: str, outcome: str = "quarantine") -> None:
    """Park a message for a human, raw bytes kept, with the reason."""
    update(
        db,
        "messages",
        row_id,
        {"state": MessageState.QUARANTINED, "outcome": outcome, "reason": reason},
    )
    event(db, "quarantined", reason, message_id=row_id)


@dataclass(frozen=True)
class Waiting:
    """A triaged or held message that no administrator has decided yet."""

    id: int
    received_at: str
    mailbox: str | None
    from_addr: str | None
    subject: str | None
    outcome: str
    reason: str | None


def waiting(db: Database) -> list[Waiting]:
    """Triaged and held messages no administrator has decided yet, oldest first."""
    rows = db.execute(
        "SELECT id, received_at, mailbox, from_addr, subject, outcome, reason FROM messages "
        "INDEXED BY idx_messages_undecided "  # schema.m017_i22_undecided_messages
        "WHERE direction = 'in' AND outcome IN ('triage', 'hold') ORDER BY id"
    )
    return [Waiting(*row) for row in rows]


@dataclass(frozen=True)
class Stored:
    """An incoming message's row, as the triage answer reads it."""

    id: int
    direction: str
    mailbox: str | None
    received_at: str
    outcome: str | None


def get(db: Database, row_id: int) -> Stored | None:
    row = db.execute(
        "SELECT id, direction, mailbox, received_at, outcome FROM messages WHERE id = ?",
        [row_id],
    ).fetchone()
    return Stored(*row) if row else None


@dataclass(frozen=True)
class Sent:
    """An outgoing message, as a bounce names it."""

    id: int
    case_id: int | None
    message_id: str
    to_addrs: str


def sent_with_ids(db: Database, message_ids: list[str]) -> Sent | None:
    """The first outgoing message with one of these Message-IDs."""
    if not message_ids:
        return None
    marks = ",".join("?" * len(message_ids))
    row = db.execute(
        f"SELECT id, case_id, message_id, to_addrs FROM messages WHERE direction = ? "
        f"AND message_id IN ({marks}) ORDER BY id LIMIT 1",
        [Direction.OUT, *message_ids],
    ).fetchone()
    return Sent(*row) if row else None


def link_to_case(db: Database, row_id: int, case_id: int) -> None:
    update(db, "messages", row_id, {"case_id": case_id})


def bounce_recorded(db: Database, case_id: int, message_id: str) -> bool:
    """Whether a bounce of that outgoing message is on the case's record already."""
    return (
        db.execute(
            "SELECT 1 FROM events WHERE case_id = ? AND kind = 'bounce' AND detail LIKE ?",
            [case_id, f"%{message_id}%"],
        ).fetchone()
        is not None
    )


def fail_delivery(db: Database, sent_row_id: int, error: str) -> None:
    """A returned message's delivery failed for good, whatever the outbox thought."""
    db.execute(
        "UPDATE outbox SET state = ?, last_error = ? WHERE message_id = ?",
        [OutboxState.FAILED, error, sent_row_id],
    )
