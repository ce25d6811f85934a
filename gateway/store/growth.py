"""Bounded growth of the case log: what a run of a job or a purge folds or reduces, so
that no table grows with every run or keeps what a purged case no longer needs.

- A note that repeats each run (a case on the overdue list every working day) is one
  event per case and detail, with how many runs saw it and when the last did.
- A purged case's messages and outbox rows keep what the statistics and the counters
  read (state, purpose, dates, sizes, the message identifiers the duplicate check and
  the threading look up) and lose the addresses.
- ``job_runs`` keeps the runs of the retention time, and each job's latest run.
"""

from __future__ import annotations

from gateway.store import event, now
from gateway.store.db import Database


def repeated_event(
    db: Database, kind: str, detail: str, *, case_id: int, message_id: int | None = None
) -> None:
    """An event that repeats run after run: counted on the first one of its case, kind
    and detail (``repeats``, ``last_at``) instead of a new row each time (in the
    caller's transaction)."""
    changed = db.execute(
        "UPDATE events SET repeats = COALESCE(repeats, 1) + 1, last_at = ?, message_id = ? "
        "WHERE id = (SELECT id FROM events WHERE case_id = ? AND kind = ? AND detail = ? "
        "ORDER BY id LIMIT 1)",
        [now(), message_id, case_id, kind, detail],
    ).rowcount
    if not changed:
        event(db, kind, detail, case_id=case_id, message_id=message_id)


def forget_addresses(db: Database, message_ids: list[int]) -> None:
    """The addresses of these messages and their outbox rows, gone (the caller's
    transaction, at most a few hundred ids)."""
    marks = ",".join("?" * len(message_ids))
    db.execute(
        f"UPDATE messages SET from_addr = NULL, to_addrs = NULL WHERE id IN ({marks}) "
        "AND (from_addr IS NOT NULL OR to_addrs IS NOT NULL)",
        message_ids,
    )
    db.execute(
        f"UPDATE outbox SET mail_from = NULL, recipients = NULL WHERE message_id IN ({marks}) "
        "AND (mail_from IS NOT NULL OR recipients IS NOT NULL)",
        message_ids,
    )


def trim_job_runs(db: Database, before: str) -> int:
    """Runs due before ``before`` deleted, each job's latest run kept (it is where the
    next due time is counted from); returns how many went."""
    return db.execute(
        "DELETE FROM job_runs WHERE due_at < ? AND due_at < "
        "(SELECT MAX(due_at) FROM job_runs latest WHERE latest.job = job_runs.job)",
        [before],
    ).rowcount
