"""What retention purges: closed cases past their time, and their messages' texts.

Everything here works on one batch at a time, so that the purge is a run of short write
transactions: intake and the sender get their turn between two batches.
"""

from __future__ import annotations

import time

from gateway.store import now
from gateway.store.db import Database
from gateway.store.growth import forget_addresses
from gateway.store.schema import SEARCH_AUTOMERGE
from gateway.store.segments import USERMERGE, pages_to_read
from gateway.store.states import CaseStatus, MessageState

BATCH = 200  # cases (or loose messages) per write transaction, at most


def closed_before(db: Database, cutoff: str, limit: int = BATCH) -> list[int]:
    """Ids of up to ``limit`` cases closed before ``cutoff`` and not purged yet."""
    rows = db.execute(  # the literal status: so the partial index of m014 applies
        "SELECT id FROM cases INDEXED BY idx_cases_to_purge "
        f"WHERE status = '{CaseStatus.CLOSED.value}' AND closed_at < ? "
        "AND purged_at IS NULL ORDER BY closed_at LIMIT ?",
        [cutoff, limit],
    )
    return [r[0] for r in rows]


def not_purged(db: Database, cases: list[int]) -> list[int]:
    """Those of ``cases`` not purged yet: the ids were read before the write began."""
    marks = ",".join("?" * len(cases))
    sql = f"SELECT id FROM cases WHERE id IN ({marks}) AND purged_at IS NULL ORDER BY id"
    return [r[0] for r in db.execute(sql, cases)]


LOOSE_BEFORE = (  # the partial index of loose messages not purged (m017_i22_loose_kept)
    "SELECT m.id FROM messages m INDEXED BY idx_messages_loose_kept "
    "WHERE m.case_id IS NULL AND m.purged_at IS NULL AND m.received_at < ? "
    "AND m.state != ? ORDER BY m.received_at LIMIT ?"
)


def loose_before(db: Database, cutoff: str, limit: int = BATCH) -> list[int]:
    """Ids of up to ``limit`` messages of no case (triage, ignored, duplicates,
    quarantine), decided before ``cutoff`` and not purged yet, oldest first. Read
    outside the write, from the index of loose messages not purged: a purge's mark
    (``purge_loose``) takes each one out of it, also one that held nothing any more
    (its text or bytes gone another way), so no batch reads it again."""
    rows = db.execute(LOOSE_BEFORE, [cutoff, MessageState.RECEIVED, limit])
    return [r[0] for r in rows]


def purgeable(db: Database, cutoff: str) -> tuple[int, int, int]:
    """(cases, messages with text or bytes still kept, their raw bytes) past ``cutoff``:
    what a purge would remove, counted without changing anything."""
    cases = db.execute(
        "SELECT COUNT(*) FROM cases WHERE status = ? AND closed_at < ? AND purged_at IS NULL",
        [CaseStatus.CLOSED, cutoff],
    ).fetchone()[0]
    messages, size = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(LENGTH(r.raw)), 0) FROM messages m "
        "LEFT JOIN raw_messages r ON r.id = m.id "
        "LEFT JOIN cases c ON c.id = m.case_id WHERE "
        "((c.status = ? AND c.closed_at < ? AND c.purged_at IS NULL) OR "
        "(m.case_id IS NULL AND m.received_at < ? AND m.state != ?)) "
        "AND (r.raw IS NOT NULL OR m.subject IS NOT NULL OR m.new_text IS NOT NULL)",
        [CaseStatus.CLOSED, cutoff, cutoff, MessageState.RECEIVED],
    ).fetchone()
    return cases, messages, size


def read_cases_ahead(db: Database, cases: list[int]) -> int:
    """Read what ``purge_cases(db, cases)`` will change, outside any write transaction,
    so that the write finds it in the cache; returns how many messages. Cold, a batch
    of 40 cases at a million spent 300 ms of its write reading (35 ms of CPU): the
    messages' texts (handed to the search index to take out), their outbox rows, the
    cases' rows and where their events go in the events' index of cases."""
    marks = ",".join("?" * len(cases))
    db.execute(f"SELECT COUNT(subject), COUNT(measure) FROM cases WHERE id IN ({marks})",
               cases).fetchone()  # fmt: skip
    db.execute(f"SELECT COUNT(*) FROM events WHERE case_id IN ({marks})", cases).fetchone()
    found = db.execute(f"SELECT id FROM messages WHERE case_id IN ({marks})", cases)
    ids = [r[0] for r in found]
    read_loose_ahead(db, ids)
    return len(ids)


def read_loose_ahead(db: Database, message_ids: list[int]) -> None:
    """Read what ``purge_loose(db, message_ids)`` will change, outside any write (as
    ``read_cases_ahead``): the messages' texts and their outbox rows."""
    for start in range(0, len(message_ids), 500):
        chunk = message_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        db.execute(
            "SELECT SUM(LENGTH(subject)), SUM(LENGTH(new_text)), COUNT(from_addr) "
            f"FROM messages WHERE id IN ({marks})",
            chunk,
        ).fetchone()
        db.execute(
            f"SELECT COUNT(mail_from), COUNT(recipients) FROM outbox WHERE message_id IN ({marks})",
            chunk,
        ).fetchone()


def purge_cases(db: Database, cases: list[int]) -> tuple[int, int]:
    """Remove the texts and raw bytes of these cases' messages and mark the cases purged
    (in the caller's transaction); returns (messages, bytes) removed."""
    marks = ",".join("?" * len(cases))
    ids = [r[0] for r in db.execute(f"SELECT id FROM messages WHERE case_id IN ({marks})", cases)]
    removed = purge_loose(db, ids) if ids else (0, 0)
    db.execute(
        f"UPDATE cases SET subject = NULL, measure = NULL, purged_at = ? WHERE id IN ({marks})",
        [now(), *cases],
    )
    return removed


def purge_loose(db: Database, message_ids: list[int]) -> tuple[int, int]:
    """Remove the texts and raw bytes of these messages and mark them purged (in the
    caller's transaction); returns (messages that still had any, bytes removed)."""
    messages = size = 0
    for start in range(0, len(message_ids), 500):  # within any SQLite's variable limit
        chunk = message_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        kept, nbytes = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(r.raw)), 0) FROM messages m "
            f"LEFT JOIN raw_messages r ON r.id = m.id WHERE m.id IN ({marks}) AND "
            "(r.raw IS NOT NULL OR m.subject IS NOT NULL OR m.new_text IS NOT NULL)",
            chunk,
        ).fetchone()
        db.execute(
            "UPDATE messages SET subject = NULL, new_text = NULL, purged_at = ? "
            f"WHERE id IN ({marks})",
            [now(), *chunk],
        )
        db.execute(f"DELETE FROM raw_messages WHERE id IN ({marks})", chunk)
        forget_addresses(db, chunk)
        messages, size = messages + kept, size + nbytes
    return messages, size


def checkpoint_at_commit(db: Database, pages: int | None) -> int:
    """Set the WAL size at which SQLite checkpoints inside a COMMIT (0: never; None:
    leave it) and return the setting before. A purge turns it off and checkpoints after
    its writes instead (``checkpoint``): on the million-case log most of its writes over
    100 ms were short ones whose COMMIT ran that checkpoint (100-400 ms of disk
    writes and syncs with 1-30 ms of CPU), with the write lock still held by this
    process (store.Checkpoints)."""
    (before,) = db.execute("PRAGMA wal_autocheckpoint").fetchone()
    if pages is not None:
        db.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}").fetchall()
    return before


def checkpoint(db: Database) -> None:
    """Copy the WAL into the database file without waiting for, or blocking, any writer
    or reader (PASSIVE): called between a purge's writes, outside them."""
    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def free_pages(db: Database) -> int:
    return db.execute("PRAGMA freelist_count").fetchone()[0]


def file_pages(db: Database) -> int:
    return db.execute("PRAGMA page_count").fetchone()[0]


def vacuum_step(db: Database, pages: int, seconds: float | None = None) -> None:
    """Give up to ``pages`` free pages back to the file system (auto_vacuum incremental),
    in the caller's transaction, and stop early once ``seconds`` have passed (after one
    page at least: a step that gave back none would read as auto_vacuum being off).

    One page per statement: Python's sqlite3 steps ``PRAGMA incremental_vacuum(N)``
    once, and one step frees one page, whatever N (a year's purge made 208,000 write
    transactions of one page each). A page costs well under a millisecond, or up to
    30 ms when the pages that point to the one moved are read from disk: by count
    alone, a step of the year's purge at a million cases took 127 ms now and then."""
    until = None if seconds is None else time.monotonic() + seconds
    for done in range(int(pages)):
        if done and until is not None and time.monotonic() >= until:
            return
        db.execute("PRAGMA incremental_vacuum(1)")


SEARCH_INDEXES = ("case_words", "case_titles")  # schema.m012_i22_case_words, m013_i22_case_titles


def setting(db: Database, index: str, key: str, default: int) -> int:
    """A search index's FTS5 setting (``<index>_config``), ``default`` when never set."""
    found = db.execute(f"SELECT v FROM {index}_config WHERE k = ?", [key]).fetchone()
    return default if found is None else int(found[0])


def command(db: Database, index: str, key: str, value: int) -> None:
    """An FTS5 command or setting ('automerge', 'usermerge', 'merge') for ``index``, in
    the caller's transaction."""
    db.execute(f"INSERT INTO {index} ({index}, rank) VALUES (?, ?)", [key, int(value)])


def merge_at_commit(db: Database, on: bool) -> None:
    """Whether the search indexes merge their segments at each commit (FTS5 'automerge').

    A purge's texts leave the indexes as deletions; merged at commit, a batch of 25 ms
    took 100-360 ms now and then. The purge turns it off and merges in steps of its own
    (``merge_step``), then turns it on again, at the schema's setting
    (``schema.SEARCH_AUTOMERGE``), not FTS5's default."""
    for name in SEARCH_INDEXES:
        command(db, name, "automerge", SEARCH_AUTOMERGE if on else 0)


def merge_step(
    db: Database, pages: int, least: int | None = None, indexes: tuple[str, ...] = SEARCH_INDEXES
) -> bool:
    """Up to ``pages`` pages of merging in each search index (in the caller's
    transaction); False when neither had anything to merge. ``least``: the segments a
    level needs for a new merge to start there, for this step only (None: the index's
    'usermerge'; the merger's steps ask for 16, as automerge would)."""
    worked = False
    for name in indexes:
        usual = setting(db, name, "usermerge", USERMERGE) if least is not None else None
        if least is not None:
            command(db, name, "usermerge", least)
        before = db.conn.total_changes
        command(db, name, "merge", pages)
        worked = worked or db.conn.total_changes - before > 1
        if usual is not None:
            command(db, name, "usermerge", usual)
    return worked


def read_ahead(db: Database, pages: int, least: int | None = None) -> int:
    """Read the leaves that the next ``merge_step(db, pages)`` will read, outside any write
    transaction, so that the step finds them in the cache; returns how many. ``least``:
    as for ``segments.pages_to_read`` (the merger's steps start a merge at 16).

    A step's cost at a million cases was its reads: a step of one page still finishes
    the word it is in, whose list spans up to 1,300 pages in a segment of a year (a
    word in every message). A year's purge on that index read 330 MB from disk inside
    its write transactions (12 MB in one), 7 MB when read ahead; no step used more
    than 40-80 ms of CPU."""
    read = 0
    for name in SEARCH_INDEXES:
        for first, last in pages_to_read(db, name, pages, least):
            read += db.execute(
                f"SELECT COUNT(*), SUM(LENGTH(block)) FROM {name}_data WHERE id BETWEEN ? AND ?",
                [first, last],
            ).fetchone()[0]
    return read
