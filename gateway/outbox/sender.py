"""Deliver the outbox: claim due rows, send them over an SMTP connection, record.

States: ``queued`` -> ``sending`` (claimed) -> ``sent``; a temporary failure (4xx, a
refused connection, a time-out) -> ``retry`` with exponential backoff until
``deliver_until``; a permanent one (5xx, or out of time) -> ``failed``, and the
administrators are told through ``on_failed``. Rows left in ``sending`` by a crash go
back to ``retry`` at start. With no smarthost the transport writes .eml files instead
(the transports are in transport.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from gateway.faults import fault
from gateway.outbox.transport import (
    FolderTransport,
    PermanentError,
    SmtpTransport,
    Stored,
    TemporaryError,
)
from gateway.settings import Settings, reread_smarthost
from gateway.store import event, now, savepoint, write, writer_busy
from gateway.store import outbox as rows
from gateway.store.db import Database
from gateway.store.outbox import OutboxItem
from gateway.store.states import OutboxState

log = logging.getLogger("gateway.outbox")

SENT, RETRY, FAILED = OutboxState.SENT, OutboxState.RETRY, OutboxState.FAILED
EVENT_OF = {SENT: "delivered", RETRY: "delivery-retry", FAILED: "delivery-failed"}


@dataclass(frozen=True)
class Delivery:
    """A message the server has answered, and when, waiting to be recorded."""

    item: OutboxItem
    state: str
    note: str
    at: str  # the time of the answer, as stored


def recover(db: Database) -> int:
    """At start, before any sender runs: rows a crash left in ``sending`` are due again."""
    return rows.recover_sending(db)


class Sender:
    """Delivers due outbox rows in batches. ``on_failed(db, row, error)`` tells admins."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        on_failed: Callable[[Database, OutboxItem, str], None] | None = None,
    ):
        self.db, self.settings, self.on_failed = db, settings, on_failed
        self.unrecorded: list[Delivery] = []  # answered, not yet recorded
        self.connections = settings.smarthost.connections if settings.smarthost else 1
        if settings.smarthost is not None:
            self.transport = SmtpTransport(
                settings.smarthost, reread=lambda: reread_smarthost(settings)
            )
        else:
            self.transport = FolderTransport(settings.outbox_path)

    def deliver_due(self) -> int:
        """Send what is due now; returns how many rows were handled.

        Each delivery is recorded once the server has taken it: at once when no other
        thread of the gateway writes, else in this sender's next write (the next batch's
        claim, or a delivery the server did not take), so that the sender goes on
        sending while the pipeline holds the write lock, instead of waiting for it after
        every message. A crash can repeat the deliveries sent but not yet recorded, at
        most a batch per connection, each with its Message-ID (a client that
        de-duplicates shows it once); rows not reached are due again at once. The
        connection is kept for the batch that follows, and closed when none is due.
        """
        # With several connections each takes its share of a burst, not the whole of it.
        limit = -(-self.settings.send_batch_size // self.connections)
        try:
            with write(self.db):
                self._record(self.unrecorded)
                items = rows.claim_due(self.db, limit)
        except BaseException:
            self.transport.close()  # not kept while the database cannot be written
            raise
        self.unrecorded = []
        if not items:
            self.transport.close()  # kept from the last batch while more was due
            return 0
        fault("before-send")
        done, taken, kept = 0, 0, False  # kept: all taken, nothing raised
        try:
            self.transport.check()
            for item in items:
                state, note = self._send(item)
                fault("after-send")
                self.unrecorded.append(Delivery(item, state, note, now()))
                done, taken = done + 1, taken + (state == SENT)
                if state != SENT or not writer_busy(self.db):
                    self.flush()
            kept = taken == len(items)
        finally:
            if not kept:  # else kept for the batch that follows
                self.transport.close()
            if done < len(items):
                try:
                    self.flush()  # what was sent, before the rest is given back
                finally:
                    rows.release(self.db, items[done:])
        return len(items)

    def close(self) -> None:
        """Record what is not recorded yet and close the connection (the daemon, before it
        stops)."""
        try:
            self.flush()
        finally:
            self.transport.close()

    def flush(self) -> None:
        """Record the deliveries not recorded yet."""
        if self.unrecorded:
            with write(self.db):
                self._record(self.unrecorded)
            self.unrecorded = []

    def _record(self, answered: list[Delivery]) -> None:
        for delivery in answered:
            self._record_one(delivery)

    def _send(self, item: OutboxItem) -> tuple[str, str]:
        recipients = list(item.recipients)
        # The bytes of one message at a time, not of the whole batch; a big one is read
        # from the database piece by piece as it is sent.
        size, raw = rows.raw_to_send(self.db, item.message_id)
        if raw is None and size is not None:
            raw = Stored(self.db, item.message_id, size)
        try:
            if isinstance(self.transport, FolderTransport):
                note = self.transport.send(
                    item.mail_from, recipients, raw, f"{item.id:06d}-{item.purpose}"
                )
            else:
                note = self.transport.send(item.mail_from, recipients, raw)
            return SENT, note
        except TemporaryError as exc:
            return RETRY, str(exc)
        except PermanentError as exc:
            return FAILED, str(exc)

    def _record_one(self, delivery: Delivery) -> None:
        item, state, note = delivery.item, delivery.state, delivery.note
        stamp = dt.datetime.now(dt.UTC)
        if state == RETRY and stamp.isoformat() >= item.deliver_until:
            state, note = FAILED, f"gave up after {item.attempts + 1} attempts: {note}"
        rows.record_result(self.db, item, self._result(item, state, note, stamp, delivery.at))
        event(
            self.db,
            EVENT_OF[state],
            f"{item.purpose} to {', '.join(item.recipients)}" + (f": {note}" if note else ""),
            case_id=item.case_id,
            message_id=item.message_id,
            at=delivery.at,
        )
        if state == FAILED:
            log.error("outbox %s (%s) failed: %s", item.id, item.purpose, note)
            if self.on_failed is not None and item.purpose != "alert":
                self._tell(item, note)
        elif state == RETRY:
            log.warning("outbox %s (%s) will be retried: %s", item.id, item.purpose, note)

    def _tell(self, item: OutboxItem, note: str) -> None:
        """The administrators told of a failed delivery; if that breaks (a broken
        template), it is logged and the delivery is recorded all the same: left
        unrecorded, it would stop this sender's next writes, and so its deliveries."""
        try:
            with savepoint(self.db):
                self.on_failed(self.db, item, note)
        except Exception:
            log.exception("outbox %s: the administrators could not be told", item.id)

    def _result(self, item: OutboxItem, state: str, note: str, stamp: dt.datetime, at: str) -> dict:
        """The outbox row's new values: the state, the error, and when (sent or next try)."""
        values: dict = {"state": OutboxState(state).value, "last_error": note or None}
        if state == SENT:
            values["sent_at"] = at
        elif state == RETRY:
            s = self.settings
            delay = min(s.retry_base_seconds * 2**item.attempts, s.retry_max_seconds)
            values["next_attempt_at"] = (stamp + dt.timedelta(seconds=delay)).isoformat(
                timespec="milliseconds"
            )
        return values

    def seconds_until_due(self) -> float | None:
        """Seconds until the next row is due (0 if one is due now), None if none waits."""
        due_at = rows.next_due(self.db)
        if due_at is None:
            return None
        due = dt.datetime.fromisoformat(due_at) - dt.datetime.now(dt.UTC)
        return max(due.total_seconds(), 0.0)
