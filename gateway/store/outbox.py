"""The outbox's rows: queueing a rendered mail, claiming due rows, recording results."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

from gateway.models import Outgoing
from gateway.store import BLOB_BYTES, insert, now, put_raw, update, write
from gateway.store.db import Database
from gateway.store.states import Direction, MessageState, OutboxState


@dataclass(frozen=True)
class OutboxItem:
    """One delivery as claimed; ``attempts`` counts the attempts before this one."""

    id: int
    message_id: int
    case_id: int | None
    purpose: str
    mail_from: str
    recipients: tuple[str, ...]
    state: str
    attempts: int
    next_attempt_at: str | None
    deliver_until: str | None
    last_error: str | None = None
    created_at: str | None = None
    sent_at: str | None = None

    @classmethod
    def from_row(cls, row: dict) -> OutboxItem:
        return cls(**(row | {"recipients": tuple(json.loads(row["recipients"]))}))


def queue(db: Database, out: Outgoing, stamp: str, deliver_until: str) -> int:
    """Record an outgoing message and its delivery (in the caller's transaction);
    returns the outbox row id."""
    message_row = insert(db, "messages", {
        "direction": Direction.OUT.value, "source": out.purpose, "received_at": stamp,
        "state": MessageState.QUEUED.value, "outcome": out.purpose, "case_id": out.case_id,
        "message_id": out.message_id, "from_addr": out.mail_from,
        "to_addrs": ", ".join(out.recipients), "subject": out.subject,
        "sha256": hashlib.sha256(out.raw).hexdigest(), "size": len(out.raw), "attempts": 0,
    })  # fmt: skip
    put_raw(db, message_row, out.raw)
    return insert(db, "outbox", {
        "message_id": message_row, "case_id": out.case_id, "purpose": out.purpose,
        "mail_from": out.mail_from, "recipients": json.dumps(list(out.recipients)),
        "state": OutboxState.QUEUED.value, "attempts": 0, "next_attempt_at": stamp,
        "deliver_until": deliver_until, "created_at": stamp,
    })  # fmt: skip


def message_of(db: Database, outbox_id: int) -> int:
    """The ``messages`` row of an outbox row."""
    return db.execute("SELECT message_id FROM outbox WHERE id = ?", [outbox_id]).fetchone()[0]


def recover_sending(db: Database) -> int:
    """Rows a crash left in ``sending`` are due again; returns how many."""
    with write(db):
        cur = db.execute(
            "UPDATE outbox SET state = 'retry', next_attempt_at = ? WHERE state = 'sending'",
            [now()],
        )
    return cur.rowcount


def claim_due(db: Database, limit: int) -> list[OutboxItem]:
    """Claim up to ``limit`` due rows (state ``sending``, one more attempt), in the
    caller's write transaction, so that no other sender takes them."""
    rows = list(
        db.query(
            "SELECT o.* FROM outbox o "
            "WHERE o.state IN ('queued', 'retry') AND o.next_attempt_at <= ? "
            "ORDER BY o.id LIMIT ?",
            [now(), limit],
        )
    )
    if rows:
        db.execute(
            f"UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id IN "
            f"({','.join('?' * len(rows))})",
            [r["id"] for r in rows],
        )
    return [OutboxItem.from_row(r) for r in rows]


def release(db: Database, items: list[OutboxItem]) -> None:
    """Claimed rows not reached (the batch broke off): due again at once."""
    with write(db):
        for item in items:
            values = {"state": OutboxState.RETRY.value, "next_attempt_at": now()}
            db["outbox"].update(item.id, values)


def raw_to_send(db: Database, message_id: int) -> tuple[int | None, bytes | None]:
    """(size, bytes) of a message to send; the bytes only when small (else None: a big
    one is streamed with ``open_raw``); (None, None) when they are gone."""
    return db.execute(
        "SELECT length(raw), CASE WHEN length(raw) < ? THEN raw END FROM raw_messages WHERE id = ?",
        [BLOB_BYTES, message_id],
    ).fetchone() or (None, None)


@contextlib.contextmanager
def open_raw(db: Database, message_id: int) -> Iterator:
    """A stored message's raw bytes as a read-only blob, read a piece at a time."""
    with db.conn.blobopen("raw_messages", "raw", message_id, readonly=True) as blob:
        yield blob


def record_result(db: Database, item: OutboxItem, values: dict[str, object]) -> None:
    """Write one delivery's result (state and its times/error) on the outbox row and the
    message's state; in the caller's transaction."""
    update(db, "outbox", item.id, values)
    update(db, "messages", item.message_id, {"state": values["state"]})


def next_due(db: Database) -> str | None:
    """When the next waiting row is due (stored time), None when none waits."""
    row = db.execute(
        "SELECT MIN(next_attempt_at) FROM outbox WHERE state IN ('queued', 'retry')"
    ).fetchone()
    return row[0] if row else None


def counts_by_state(db: Database) -> dict[str, int]:
    """Outbox rows per state."""
    rows = db.execute("SELECT b, SUM(n) FROM tallies WHERE what = 'outbox' GROUP BY b")
    return {state or None: n for state, n in rows if n}


def delivery_counts(db: Database) -> list[tuple[str, str, int]]:
    """(purpose, state, count) of the rows delivered or given up."""
    rows = db.execute(
        "SELECT a, b, n FROM tallies WHERE what = 'outbox' AND b IN ('sent', 'failed') AND n > 0"
    )
    return [(purpose or None, state, n) for purpose, state, n in rows]


def waiting(db: Database) -> tuple[int, str | None]:
    """(rows not yet sent, the earliest due time of those not being sent)."""
    count, due = db.execute(
        "SELECT COUNT(*), MIN(CASE WHEN state != 'sending' THEN next_attempt_at END) "
        "FROM outbox WHERE state IN ('queued', 'retry', 'sending')"
    ).fetchone()
    return count or 0, due


def trouble_since_delivery(db: Database) -> tuple[str | None, int | None]:
    """(time of the first failed attempt since the last delivery, the last such event's id)."""
    ok = db.execute("SELECT id FROM events WHERE kind = 'delivered' ORDER BY id DESC LIMIT 1")
    ok_id = (ok.fetchone() or (0,))[0]
    first, last_id = db.execute(
        "SELECT MIN(at), MAX(id) FROM events "
        "WHERE id > ? AND kind IN ('delivery-retry', 'delivery-failed')",
        [ok_id],
    ).fetchone()
    return first, last_id


def error_of_event(db: Database, event_id: int) -> str:
    """The last error of the delivery an event is about."""
    row = db.execute(
        "SELECT o.last_error FROM events e JOIN outbox o ON o.message_id = e.message_id "
        "WHERE e.id = ?",
        [event_id],
    ).fetchone()
    return (row[0] if row else "") or ""
