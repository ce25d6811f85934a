"""Closed cases of long ago, each with one message of text: what the purge tests purge."""

from __future__ import annotations

import datetime as dt

from gateway.store import insert, write
from gateway.store.db import Database

NOW = dt.datetime.now(dt.UTC)
OLD = (NOW - dt.timedelta(days=800)).isoformat(timespec="milliseconds")


def closed_cases(db: Database, count: int, subject: str = "emne {n}",
                 text: str = "tekst nummer {n}") -> None:  # fmt: skip
    """``count`` cases closed 800 days ago, in one write transaction (one segment of
    the search indexes); ``{n}`` in the subject or text is the case's number."""
    with write(db):
        for n in range(count):
            case = insert(db, "cases", {"reference": f"AVVIK-2024-{n:04d}",
                          "subject": subject.format(n=n), "status": "lukket",
                          "closed_at": OLD, "received_at": OLD})  # fmt: skip
            insert(db, "messages", {"direction": "in", "case_id": case,
                   "new_text": text.format(n=n), "received_at": OLD})  # fmt: skip
