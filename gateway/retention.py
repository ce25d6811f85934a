"""Retention: purge raw messages and texts once a closed case is past its keeping time.

What stays is what statistics need (reference, flow, kind, parties, municipality,
dates, status, severity, urgency, deadlines): the rows remain, their text and their
addresses go (store/growth.py). Messages that never became a case (triage, ignored,
duplicates, quarantine) follow the same clock from their arrival. Every purge is an
event, and ``--dry-run`` counts without touching.

A purge is a run of short write transactions (``Pace``: about 25 ms each), so that
intake and the sender never wait behind a year's backlog; it can stop anywhere and be
run again. Each batch's rows are read before its write, and SQLite's checkpoints run
between the writes, not in their COMMITs. The freed pages go back to the file system
in small steps afterwards (``auto_vacuum = incremental``), once they are more than
``KEEP_FREE`` of the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from gateway.store import event, terms, write
from gateway.store import retention as rows
from gateway.store.db import Database
from gateway.store.growth import trim_job_runs
from gateway.store.schema import SEARCH_AUTOMERGE

log = logging.getLogger("gateway.retention")
TARGET_S = 0.025  # a purge's write transaction aims at this (intake waits behind one
# transaction at most); the search indexes merge in transactions of their own
# The caps bound a write when the pace misjudges it: in a year's purge at a million
# cases the longest writes were merge steps of 200 pages (55-78 ms, up to 88 with the
# COMMIT; 101 ms in another run) and vacuum steps of 250 (69 ms), at 0.3-0.4 ms a page.
MERGE_PAGES = 120  # pages of the search indexes merged per write transaction, at most
VACUUM_PAGES = 150  # pages given back per short write transaction, at most (0.6 MB)
KEEP_FREE = 0.01  # free pages up to this share of the file stay for the next writes
TERMS_STEP = 2000  # terms of the index of search terms checked per write, at most
CHECKPOINT_S = 0.1  # a purge checkpoints the WAL between its writes at most this often


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
    autocheckpoint = rows.checkpoint_at_commit(db, 0)
    try:
        return _purge(db, cutoff, batch, why)
    finally:
        rows.checkpoint_at_commit(db, autocheckpoint)


def _purge(db: Database, cutoff: str, batch: int, why: str) -> PurgeReport:
    with write(db):
        rows.merge_at_commit(db, False)
    merging = Pace(MERGE_PAGES)
    try:
        cases, messages, size = _purge_cases(db, cutoff, batch, why, merging)
        more, more_size = _purge_loose(db, cutoff, batch, merging)
    finally:
        with write(db):
            rows.merge_at_commit(db, True)
    merge_indexes(db, merging)
    report = PurgeReport(cases, messages + more, size + more_size, cutoff)
    with write(db):  # the runs of the retention time are kept, and each job's last one
        trim_job_runs(db, cutoff)
    if report.cases or report.messages:
        with write(db):
            event(db, "purged", f"{report.cases} case(s), {report.messages} message(s), "
                  f"{report.bytes} bytes, closed or received before {cutoff[:10]}")  # fmt: skip
        log.info("purged %d case(s), %d message(s) past retention", cases, report.messages)
    give_back_space(db)
    rows.checkpoint(db)
    return report


@contextlib.contextmanager
def paced(db: Database, pace: Pace) -> Iterator[Database]:
    """One of a purge's short writes, timed to its commit (``pace``); then, outside it and
    at most every ``CHECKPOINT_S``, a checkpoint of the WAL, which the purge keeps out
    of its COMMITs (``rows.checkpoint_at_commit``)."""
    with pace, write(db):
        yield db
    if pace.checkpoint_due():
        rows.checkpoint(db)


class Pace:
    """The size of the next batch, from how long the last one held the database: a
    case's texts cost their length in the search index, so a fixed count of cases gave
    writes of 20 ms to 2 s. Aims at ``TARGET_S`` a transaction, within 1..``most``."""

    def __init__(self, most: int):
        self.most, self.size = most, min(most, 10)
        self.checkpointed = time.monotonic()

    def __enter__(self) -> Pace:
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.took()

    def took(self) -> None:
        spent = max(time.monotonic() - self.started, 1e-4)
        # at most half as much again: one quick batch proves little (a vacuum step's pages
        # cost 0.05-0.35 ms each, so doubling after a cheap one gave 140 ms)
        grown = min(self.most, max(self.size + 1, self.size * 3 // 2))
        self.size = max(1, min(grown, int(self.size * TARGET_S / spent)))

    def checkpoint_due(self) -> bool:
        """True (and the clock restarted) when ``CHECKPOINT_S`` have passed since the
        last checkpoint of this pace's writes."""
        at = time.monotonic()
        if at - self.checkpointed < CHECKPOINT_S:
            return False
        self.checkpointed = at
        return True


def _purge_cases(
    db: Database, cutoff: str, batch: int, why: str, merging: Pace
) -> tuple[int, int, int]:
    cases = messages = size = 0
    pace = Pace(batch)
    while ids := rows.closed_before(db, cutoff, pace.size):  # read before the write
        rows.read_cases_ahead(db, ids)  # what the write changes, into the cache
        with paced(db, pace):
            ids = rows.not_purged(db, ids)
            removed, nbytes = rows.purge_cases(db, ids) if ids else (0, 0)
            for case_id in ids:
                event(db, "purged", why, case_id=case_id)
            if removed:  # their words leave the index of search terms (store/terms.py)
                terms.owe(db)
        cases, messages, size = cases + len(ids), messages + removed, size + nbytes
        merge_indexes(db, merging, steps=1)
    return cases, messages, size


def _purge_loose(db: Database, cutoff: str, batch: int, merging: Pace) -> tuple[int, int]:
    messages = size = 0
    pace = Pace(batch)
    while ids := rows.loose_before(db, cutoff, pace.size):  # read before the write
        rows.read_loose_ahead(db, ids)
        with paced(db, pace):
            removed, nbytes = rows.purge_loose(db, ids)
            if removed:
                terms.owe(db)
        messages, size = messages + removed, size + nbytes
        merge_indexes(db, merging, steps=1)
    return messages, size


def merge_indexes(db: Database, pace: Pace, steps: int | None = None) -> None:
    """Merge the search indexes' segments in short write transactions (``pace``), ``steps``
    of them at most, or until there is nothing to merge: one step after each batch of a
    purge, so that the merging keeps up, and the rest when it is done.

    A merge starts where automerge and the merger start one (``SEARCH_AUTOMERGE``
    segments on a level), not at FTS5's 4: a step ends only at the end of a word, and
    at 4 a year's purge went on to merge the levels of a year's texts, where one step
    rewrote the list of a word in every message (100-260 ms on a log of a million
    cases). What the purge leaves stays on the levels below until they hold 16."""
    while steps is None or steps > 0:
        rows.read_ahead(db, pace.size, SEARCH_AUTOMERGE)  # outside the write: then cached
        with paced(db, pace):
            worked = rows.merge_step(db, pace.size, SEARCH_AUTOMERGE)
        if not worked:
            return
        steps = None if steps is None else steps - 1


def forget_terms(db: Database, most: int = TERMS_STEP) -> int:
    """A whole pass over the index of search terms, if one is owed (``store.terms``), in
    short write transactions; returns how many terms it checked."""
    checked, pace = 0, Pace(most)
    while terms.owed(db):
        checked += terms_step(db, pace)
    return checked


def terms_step(db: Database, pace: Pace) -> int:
    """One step of that pass, its reads made first outside the write (then cached), the
    write paced; returns how many terms it checked."""
    terms.read_ahead(db, pace.size)
    with paced(db, pace):
        return terms.step(db, pace.size)


def give_back_space(db: Database) -> int:
    """Return free pages to the file system in short steps; returns the pages freed.

    Only once they are more than ``KEEP_FREE`` of the file: the few that a day's purge
    frees are soon written again by intake (SQLite reuses free pages before it grows
    the file), and giving them back was a third of the daily purge at a million cases
    (4,000 pages moved from the file's end, 0.3-0.5 s)."""
    if rows.free_pages(db) <= rows.file_pages(db) * KEEP_FREE:
        return 0
    freed, pace = 0, Pace(VACUUM_PAGES)
    while (free := rows.free_pages(db)) > 0:
        with paced(db, pace):
            rows.vacuum_step(db, pace.size, TARGET_S)
        after = rows.free_pages(db)
        if after >= free:  # auto_vacuum is off on this file (see the migration)
            break
        freed += free - after
    return freed
