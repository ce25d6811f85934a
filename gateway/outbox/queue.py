"""Put rendered mail in the outbox, in the caller's transaction (with the decision)."""

from __future__ import annotations

import datetime as dt

from gateway.models import Outgoing
from gateway.store import now
from gateway.store.db import Database
from gateway.store.outbox import queue


def enqueue(db: Database, out: Outgoing, deliver_for_hours: float = 48.0) -> int:
    """Record an outgoing message and queue its delivery; returns the outbox row id.

    Call inside ``store.write(db)`` together with the decision that made it, so that a
    crash either loses both or keeps both: never a decision without its mail.
    """
    until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=deliver_for_hours)
    return queue(db, out, now(), until.isoformat(timespec="milliseconds"))
