"""Retention: purge raw messages and texts once a closed case is past its keeping time.

What stays is what statistics need (reference, flow, kind, parties, municipality,
dates, status, severity, urgency, deadlines): the rows remain, their text goes. Messages
that never became a case (triage, ignored, duplicates, quarantine) follow the same clock
from their arrival. Every purge is an event, and ``--dry-run`` counts without touching.

A purge is a run of short write transactions of a few hundred cases each, so that
intake and the sender never wait behind a year's backlog; it can stop anywhere and be
run again. The freed pages go back to the file system in small steps afterwards
(``auto_vacuum = incremental``).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from gateway.store import event, write
from gateway.store import retention as rows
from gateway.store.db import Database

log = logging.getLogger("gateway.retention")
VACUUM_PAGES = 2000  # pages given back per short write transaction (8 MB at 4 KB)


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
    batch: int = rows.BATCH,
) -> PurgeReport:
    """Purge what is past retention; returns what was (or, dry, would be) purged."""
    moment = today or dt.datetime.now(dt.UTC)
    cutoff = (moment - dt.timedelta(days=retention_days)).isoformat(timespec="milliseconds")
    if dry_run:
        return PurgeReport(*rows.purgeable(db, cutoff), cutoff)
    why = f"past retention ({retention_days} days after closing)"
    cases, messages, size = _purge_cases(db, cutoff, batch, why)
    more, more_size = _purge_loose(db, cutoff, batch)
    report = PurgeReport(cases, messages + more, size + more_size, cutoff)
    if report.cases or report.messages:
        with write(db):
            event(db, "purged", f"{report.cases} case(s), {report.messages} message(s), "
                  f"{report.bytes} bytes, closed or received before {cutoff[:10]}")  # fmt: skip
        log.info("purged %d case(s), %d message(s) past retention", cases, report.messages)
    give_back_space(db)
    return report


def _purge_cases(db: Database, cutoff: str, batch: int, why: str) -> tuple[int, int, int]:
    cases = messages = size = 0
    while True:
        with write(db):
            ids = rows.closed_before(db, cutoff, batch)
            if not ids:
                return cases, messages, size
            removed, nbytes = rows.purge_cases(db, ids)
            for case_id in ids:
                event(db, "purged", why, case_id=case_id)
        cases, messages, size = cases + len(ids), messages + removed, size + nbytes


def _purge_loose(db: Database, cutoff: str, batch: int) -> tuple[int, int]:
    messages = size = 0
    while True:
        with write(db):
            ids = rows.loose_before(db, cutoff, batch)
            if not ids:
                return messages, size
            removed, nbytes = rows.purge_loose(db, ids)
        messages, size = messages + removed, size + nbytes


def give_back_space(db: Database) -> int:
    """Return free pages to the file system in short steps; returns the pages freed."""
    freed = 0
    while (free := rows.free_pages(db)) > 0:
        with write(db):
            rows.vacuum_step(db, VACUUM_PAGES)
        after = rows.free_pages(db)
        if after >= free:  # auto_vacuum is off on this file (see the migration)
            break
        freed += free - after
    return freed
