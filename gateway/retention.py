"""Retention: purge raw messages and texts once a closed case is past its keeping time.

What stays is what statistics need (reference, flow, kind, parties, municipality,
dates, status, severity, urgency, deadlines): the rows remain, their text goes. Messages
that never became a case (triage, ignored, duplicates, quarantine) follow the same clock
from their arrival. Every purge is an event, and ``--dry-run`` counts without touching.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass

from gateway.store import event, write
from gateway.store import retention as rows
from gateway.store.db import Database

log = logging.getLogger("gateway.retention")


@dataclass(frozen=True)
class PurgeReport:
    cases: int
    messages: int
    bytes: int
    cutoff: str


def purge(
    db: Database,
    retention_days: int,
    *,
    dry_run: bool = False,
    today: dt.datetime | None = None,
    in_callers_transaction: bool = False,
) -> PurgeReport:
    """Purge what is past retention; returns what was (or, dry, would be) purged.

    ``in_callers_transaction``: the caller (the scheduled job) already holds a write
    transaction, and the purge is part of it; else the purge takes its own."""
    cutoff = ((today or dt.datetime.now(dt.UTC)) - dt.timedelta(days=retention_days)).isoformat(
        timespec="milliseconds"
    )
    cases = rows.closed_before(db, cutoff)
    messages, size = rows.purgeable(db, cases, cutoff)
    report = PurgeReport(len(cases), messages, size, cutoff)
    if dry_run or not (cases or messages):
        return report
    with contextlib.nullcontext() if in_callers_transaction else write(db):
        rows.purge_texts(db, cases, cutoff)
        for case_id in cases:
            event(
                db,
                "purged",
                f"past retention ({retention_days} days after closing)",
                case_id=case_id,
            )
        event(
            db,
            "purged",
            f"{len(cases)} case(s), {messages} message(s), {size} bytes, "
            f"closed or received before {cutoff[:10]}",
        )
    log.info("purged %d case(s) and %d message(s) past retention", len(cases), messages)
    return report
