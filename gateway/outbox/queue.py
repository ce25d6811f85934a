"""Put rendered mail in the outbox, in the caller's transaction (with the decision)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlite_utils import Database

from gateway.models import Outgoing
from gateway.store import insert, now, put_raw


def enqueue(db: Database, out: Outgoing, deliver_for_hours: float = 48.0) -> int:
    """Record an outgoing message and queue its delivery; returns the outbox row id.

    Call inside ``store.write(db)`` together with the decision that made it, so that a
    crash either loses both or keeps both: never a decision without its mail.
    """
    stamp = now()
    until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=deliver_for_hours)
    message_row = insert(db, "messages", {
        "direction": "out", "source": out.purpose, "received_at": stamp, "state": "queued",
        "outcome": out.purpose, "case_id": out.case_id, "message_id": out.message_id,
        "from_addr": out.mail_from, "to_addrs": ", ".join(out.recipients),
        "subject": out.subject, "sha256": hashlib.sha256(out.raw).hexdigest(),
        "size": len(out.raw), "attempts": 0,
    })  # fmt: skip
    put_raw(db, message_row, out.raw)
    return insert(db, "outbox", {
        "message_id": message_row, "case_id": out.case_id, "purpose": out.purpose,
        "mail_from": out.mail_from, "recipients": json.dumps(list(out.recipients)),
        "state": "queued", "attempts": 0, "next_attempt_at": stamp,
        "deliver_until": until.isoformat(timespec="milliseconds"), "created_at": stamp,
    })  # fmt: skip
