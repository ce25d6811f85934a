"""Storing incoming messages and the IMAP mailboxes' positions and health."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.store import event, insert, now, put_raw, update_where
from gateway.store.db import Database
from gateway.store.states import Direction, MessageState


@dataclass(frozen=True)
class Arrival:
    """One incoming message as intake stores it, raw bytes included."""

    mailbox: str | None
    source: str
    received_at: str
    message_id: str
    sha256: str
    size: int
    raw: bytes


def store_arrivals(db: Database, arrivals: list[Arrival]) -> list[int]:
    """Store a batch of incoming messages; call inside the caller's ``write(db)``."""
    ids = []
    for a in arrivals:
        ids.append(insert(db, "messages", {
            "direction": Direction.IN.value, "mailbox": a.mailbox, "source": a.source,
            "received_at": a.received_at, "state": MessageState.RECEIVED.value,
            "message_id": a.message_id, "sha256": a.sha256, "size": a.size, "attempts": 0,
        }))  # fmt: skip
        put_raw(db, ids[-1], a.raw)
        event(db, "received", f"{a.source} ({a.size} bytes)", message_id=ids[-1])
    return ids


@dataclass(frozen=True)
class MailboxHealth:
    """What ``gateway status``, the monitor and the metrics read about one mailbox."""

    name: str
    connected: int | None
    last_fetch_at: str | None
    last_error: str | None
    last_error_at: str | None
    last_uid: int | None


def record_health(db: Database, name: str, values: dict[str, object]) -> None:
    """Set a mailbox's health columns (connected, last_fetch_at, last_error, last_error_at);
    call inside the caller's ``write(db)``."""
    db.execute("INSERT OR IGNORE INTO mailboxes (name) VALUES (?)", [name])
    update_where(db, "mailboxes", "name", name, values)


def mailbox_health(db: Database) -> list[MailboxHealth]:
    """Every mailbox intake has seen, by name."""
    rows = db.execute(
        "SELECT name, connected, last_fetch_at, last_error, last_error_at, last_uid "
        "FROM mailboxes ORDER BY name"
    ).fetchall()
    return [MailboxHealth(*row) for row in rows]


def position(db: Database, name: str) -> tuple[int | None, int | None] | None:
    """(UIDVALIDITY, last UID) stored for a mailbox, None when it has no row."""
    row = db.execute(
        "SELECT uidvalidity, last_uid FROM mailboxes WHERE name = ?", [name]
    ).fetchone()
    return (row[0], row[1]) if row else None


def save_position(db: Database, name: str, uidvalidity: int, last_uid: int) -> None:
    """Remember how far a mailbox was read; in the transaction that stored the batch."""
    db["mailboxes"].upsert(
        {
            "name": name,
            "uidvalidity": uidvalidity,
            "last_uid": last_uid,
            "updated_at": now(),
            "last_fetch_at": now(),
        },
        pk="name",
    )
