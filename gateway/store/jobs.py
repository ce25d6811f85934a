"""``job_runs``: one row per follow-up job and due time, claimed by inserting it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.store.db import Database


class JobResult(StrEnum):
    START = "start"  # the baseline of a new gateway: nothing before it is made up
    RUNNING = "running"  # claimed, in the transaction that runs it
    OK = "ok"
    FAILED = "failed"


@dataclass(frozen=True)
class JobRun:
    due_at: str
    started_at: str | None
    finished_at: str | None
    result: str | None
    detail: str | None


def last_run(db: Database, job: str) -> JobRun | None:
    """The run of ``job`` with the latest due time."""
    row = db.execute(
        "SELECT due_at, started_at, finished_at, result, detail FROM job_runs "
        "WHERE job = ? ORDER BY due_at DESC LIMIT 1",
        [job],
    ).fetchone()
    return JobRun(*row) if row else None


def recorded(db: Database, job: str, due: str) -> bool:
    """Whether the run of ``job`` at ``due`` is claimed (run or running) by anyone."""
    found = db.execute("SELECT 1 FROM job_runs WHERE job = ? AND due_at = ?", [job, due])
    return found.fetchone() is not None


def make_room(db: Database) -> None:
    """Copy the write-ahead log back into the database file, outside any write (PASSIVE:
    it neither waits for nor blocks a writer), before a job's next write transaction.
    Else the COMMIT that takes the log past 1000 pages runs SQLite's own checkpoint of
    everything before it: on the 100k log that made the reminders' one write 0.7-1.3 s
    instead of 0.09 s, and a job's last short transaction 1.0-1.4 s."""
    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def mark_start(db: Database, job: str, stamp: str, host: str, detail: str) -> None:
    """The baseline row of a job that never ran; in the caller's transaction."""
    db.execute(
        "INSERT OR IGNORE INTO job_runs "
        "(job, due_at, started_at, finished_at, result, detail, host) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [job, stamp, stamp, stamp, JobResult.START.value, detail, host],
    )


def claim(db: Database, job: str, due: str, started: str, host: str) -> bool:
    """Claim ``(job, due)``; False when someone has it already. In the caller's transaction,
    the one the job runs in."""
    return bool(
        db.execute(
            "INSERT OR IGNORE INTO job_runs (job, due_at, started_at, result, host) "
            "VALUES (?, ?, ?, ?, ?)",
            [job, due, started, JobResult.RUNNING.value, host],
        ).rowcount
    )


def finish(db: Database, job: str, due: str, finished: str, detail: str) -> None:
    """The claimed run went well; in its transaction."""
    db.execute(
        "UPDATE job_runs SET finished_at = ?, result = ?, detail = ? WHERE job = ? AND due_at = ?",
        [finished, JobResult.OK.value, detail, job, due],
    )


def record_failure(
    db: Database, job: str, due: str, started: str, finished: str, detail: str, host: str
) -> None:
    """A run that failed (its claim rolled back): recorded unless another ran it."""
    db.execute(
        "INSERT OR IGNORE INTO job_runs "
        "(job, due_at, started_at, finished_at, result, detail, host) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [job, due, started, finished, JobResult.FAILED.value, detail, host],
    )


def fail(db: Database, job: str, due: str, finished: str, detail: str) -> None:
    """A claimed run that failed after its claim was committed (a job that writes in
    transactions of its own)."""
    db.execute(
        "UPDATE job_runs SET finished_at = ?, result = ?, detail = ? WHERE job = ? AND due_at = ?",
        [finished, JobResult.FAILED.value, detail, job, due],
    )
