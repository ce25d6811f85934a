"""Deliver the outbox: claim due rows, send a batch over one SMTP connection, record.

States: ``queued`` -> ``sending`` (claimed) -> ``sent``; a temporary failure (4xx, a
refused connection, a time-out) -> ``retry`` with exponential backoff until
``deliver_until``; a permanent one (5xx, or out of time) -> ``failed``, and the
administrators are told through ``on_failed``. Rows left in ``sending`` by a crash go
back to ``retry`` at start. With no smarthost the transport writes .eml files instead
(the transports are in transport.py).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable

from sqlite_utils import Database

from gateway.faults import fault
from gateway.outbox.transport import (
    FolderTransport,
    PermanentError,
    SmtpTransport,
    Stored,
    TemporaryError,
)
from gateway.settings import Settings, reread_smarthost
from gateway.store import BLOB_BYTES, event, now, write
from gateway.store import update as store_update

log = logging.getLogger("gateway.outbox")

SENT, RETRY, FAILED = "sent", "retry", "failed"


def recover(db: Database) -> int:
    """At start, before any sender runs: rows a crash left in ``sending`` are due again."""
    with write(db):
        cur = db.execute(
            "UPDATE outbox SET state = 'retry', next_attempt_at = ? WHERE state = 'sending'",
            [now()],
        )
    return cur.rowcount


class Sender:
    """Delivers due outbox rows in batches. ``on_failed(db, row, error)`` tells admins."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        on_failed: Callable[[Database, dict, str], None] | None = None,
    ):
        self.db, self.settings, self.on_failed = db, settings, on_failed
        self.connections = settings.smarthost.connections if settings.smarthost else 1
        if settings.smarthost is not None:
            self.transport = SmtpTransport(
                settings.smarthost, reread=lambda: reread_smarthost(settings)
            )
        else:
            self.transport = FolderTransport(settings.outbox_path)

    def _claim(self, limit: int) -> list[dict]:
        with write(self.db):
            rows = list(
                self.db.query(
                    "SELECT o.* FROM outbox o "
                    "WHERE o.state IN ('queued', 'retry') AND o.next_attempt_at <= ? "
                    "ORDER BY o.id LIMIT ?",
                    [now(), limit],
                )
            )
            if rows:
                self.db.execute(
                    f"UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id IN "
                    f"({','.join('?' * len(rows))})",
                    [r["id"] for r in rows],
                )
        return rows

    def deliver_due(self) -> int:
        """Send what is due now; returns how many rows were handled.

        Each delivery is recorded as soon as the server has taken it, so a crash can
        repeat at most the one message in flight (same Message-ID, so the receiving
        client sees it once); rows not reached are due again at once.
        """
        # With several connections each takes its share of a burst, not the whole of it.
        rows = self._claim(-(-self.settings.send_batch_size // self.connections))
        if not rows:
            return 0
        fault("before-send")
        done = 0
        try:
            for row in rows:
                state, note = self._send(row)
                fault("after-send")
                with write(self.db):
                    self._record_one(row, state, note)
                done += 1
        finally:
            self.transport.close()
            if done < len(rows):
                with write(self.db):
                    for row in rows[done:]:
                        self.db["outbox"].update(
                            row["id"], {"state": RETRY, "next_attempt_at": now()}
                        )
        return len(rows)

    def _send(self, row: dict) -> tuple[str, str]:
        recipients = json.loads(row["recipients"])
        # The bytes of one message at a time, not of the whole batch; a big one is read
        # from the database piece by piece as it is sent.
        size, raw = self.db.execute(
            "SELECT length(raw), CASE WHEN length(raw) < ? THEN raw END FROM raw_messages "
            "WHERE id = ?",
            [BLOB_BYTES, row["message_id"]],
        ).fetchone() or (None, None)
        if raw is None and size is not None:
            raw = Stored(self.db, row["message_id"], size)
        try:
            if isinstance(self.transport, FolderTransport):
                note = self.transport.send(
                    row["mail_from"], recipients, raw, f"{row['id']:06d}-{row['purpose']}"
                )
            else:
                note = self.transport.send(row["mail_from"], recipients, raw)
            return SENT, note
        except TemporaryError as exc:
            return RETRY, str(exc)
        except PermanentError as exc:
            return FAILED, str(exc)

    def _record_one(self, row: dict, state: str, note: str) -> None:
        s = self.settings
        stamp = dt.datetime.now(dt.UTC)
        if state == RETRY and stamp.isoformat() >= row["deliver_until"]:
            state, note = FAILED, f"gave up after {row['attempts'] + 1} attempts: {note}"
        update: dict = {"state": state, "last_error": note or None}
        if state == SENT:
            update["sent_at"] = now()
        elif state == RETRY:
            delay = min(s.retry_base_seconds * 2 ** row["attempts"], s.retry_max_seconds)
            update["next_attempt_at"] = (stamp + dt.timedelta(seconds=delay)).isoformat(
                timespec="milliseconds"
            )
        store_update(self.db, "outbox", row["id"], update)
        store_update(self.db, "messages", row["message_id"], {"state": state})
        kind = {"sent": "delivered", "retry": "delivery-retry", "failed": "delivery-failed"}[state]
        event(
            self.db,
            kind,
            f"{row['purpose']} to {', '.join(json.loads(row['recipients']))}"
            + (f": {note}" if note else ""),
            case_id=row["case_id"],
            message_id=row["message_id"],
        )
        if state == FAILED:
            log.error("outbox %s (%s) failed: %s", row["id"], row["purpose"], note)
            if self.on_failed is not None and row["purpose"] != "alert":
                self.on_failed(self.db, row, note)
        elif state == RETRY:
            log.warning("outbox %s (%s) will be retried: %s", row["id"], row["purpose"], note)

    def seconds_until_due(self) -> float | None:
        """Seconds until the next row is due (0 if one is due now), None if none waits."""
        row = self.db.execute(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE state IN ('queued', 'retry')"
        ).fetchone()
        if not row or row[0] is None:
            return None
        due = dt.datetime.fromisoformat(row[0]) - dt.datetime.now(dt.UTC)
        return max(due.total_seconds(), 0.0)
