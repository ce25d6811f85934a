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

from sqlite_utils import Database

from gateway.store import drop_raw, event, now, write

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
    cases = [
        r[0]
        for r in db.execute(
            "SELECT id FROM cases WHERE status = 'lukket' AND closed_at < ? AND purged_at IS NULL",
            [cutoff],
        )
    ]
    marks = ",".join("?" * len(cases))
    scope = (
        f"(case_id IN ({marks}) OR (case_id IS NULL AND received_at < ? "
        f"AND state NOT IN ('received')))"
    )
    params = [*cases, cutoff]
    messages, size = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(LENGTH(r.raw)), 0) FROM messages "
        f"LEFT JOIN raw_messages r ON r.id = messages.id WHERE {scope} "
        "AND (r.raw IS NOT NULL OR subject IS NOT NULL OR new_text IS NOT NULL)",
        params,
    ).fetchone()
    report = PurgeReport(len(cases), messages, size, cutoff)
    if dry_run or not (cases or messages):
        return report
    with contextlib.nullcontext() if in_callers_transaction else write(db):
        db.execute(f"UPDATE messages SET subject = NULL, new_text = NULL WHERE {scope}", params)
        drop_raw(db, scope, params)
        for case_id in cases:
            db["cases"].update(case_id, {"subject": None, "measure": None, "purged_at": now()})
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
