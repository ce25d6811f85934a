"""The cases the follow-up jobs and the on-call duty's commands read and mark."""

from __future__ import annotations

from gateway.store import now, update
from gateway.store.caselog import CaseRow, cases_rows, cases_where
from gateway.store.db import Database
from gateway.store.states import CaseStatus, MessageState

_OPEN = "status != 'lukket'"
# Measures not yet reported done (``followup.deadlines.WORKING``).
_WORKING = f"status IN ('{CaseStatus.REGISTERED.value}', '{CaseStatus.IN_PROGRESS.value}')"


def open_cases(db: Database) -> list[CaseRow]:
    """Cases not closed, oldest first."""
    return cases_where(db, f"WHERE {_OPEN} ORDER BY id", [])


def past_deadline(db: Database, today: str) -> list[CaseRow]:
    """Open cases with a deadline before ``today`` (an ISO date), the earliest close
    deadline first: the close deadline, or the measures one while no measures are
    reported. ``followup.deadlines.overdue`` checks each again; filtered here because
    at a million cases building every open case as a row took a third of the job."""
    return cases_where(
        db,
        f"WHERE {_OPEN} AND ((measures_due > '' AND measures_due < ? "
        f"AND {_WORKING}) OR (close_due > '' AND close_due < ?)) ORDER BY close_due, id",
        [today, today],
    )


def deadline_within(db: Database, first: str, last: str) -> list[CaseRow]:
    """Open cases with a deadline from ``first`` to ``last`` (ISO dates) not yet reminded
    of, oldest first: the close deadline, or the measures one while no measures are
    reported. ``followup.deadlines`` checks each again (filtered here, as above)."""
    return cases_where(
        db,
        f"WHERE {_OPEN} AND ((measures_due BETWEEN ? AND ? AND {_WORKING} "
        "AND COALESCE(measures_reminded_at, '') = '') OR (close_due BETWEEN ? AND ? "
        "AND COALESCE(close_reminded_at, '') = '')) ORDER BY id",
        [first, last, first, last],
    )


def due_for_escalation(db: Database, today: str) -> list[CaseRow]:
    """Open cases whose escalation date has passed and that were not escalated."""
    return cases_where(
        db,
        f"WHERE {_OPEN} AND escalate_due IS NOT NULL AND escalate_due < ? "
        "AND escalated_at IS NULL ORDER BY id",
        [today],
    )


def not_yet_in_digest(db: Database, after: str) -> list[CaseRow]:
    """Non-urgent cases received after ``after`` and in no review digest yet."""
    return cases_where(
        db,
        "WHERE urgent = 0 AND received_at > ? AND NOT EXISTS "
        "(SELECT 1 FROM events e WHERE e.case_id = c.id AND e.kind = 'in-digest') "
        "ORDER BY received_at",
        [after],
    )


def case_of_messages(db: Database, message_ids: list[str]) -> list[CaseRow]:
    """The case of the newest stored message with one of these Message-IDs (at most one)."""
    marks = ",".join("?" * len(message_ids))
    return cases_rows(
        db,
        f"SELECT c.* FROM cases c JOIN messages m ON m.case_id = c.id "
        f"WHERE m.message_id IN ({marks}) ORDER BY m.id DESC LIMIT 1",
        message_ids,
    )


def cases_of_digests(db: Database, message_ids: list[str]) -> list[CaseRow]:
    """The cases listed in the review digests with these Message-IDs."""
    marks = ",".join("?" * len(message_ids))
    return cases_rows(
        db,
        f"SELECT DISTINCT c.* FROM cases c JOIN events e ON e.case_id = c.id "
        f"JOIN messages m ON m.id = e.message_id WHERE e.kind = 'in-digest' "
        f"AND m.message_id IN ({marks}) ORDER BY c.id",
        message_ids,
    )


def first_text(db: Database, message_id: int | None) -> str:
    """The new text of a case's first message ('' when gone)."""
    row = db.execute("SELECT new_text FROM messages WHERE id = ?", [message_id]).fetchone()
    return (row[0] if row else "") or ""


def unchanged(db: Database, case: CaseRow, columns: list[str]) -> bool:
    """Whether these columns of the case still hold what ``case`` read (NULL matching
    None): a job that writes its mails in several transactions checks, in each, that
    no earlier run (cut short) nor another gateway has sent this one since."""
    where = " AND ".join(f"[{column}] IS ?" for column in columns)
    values = [getattr(case, column) for column in columns]
    found = db.execute(f"SELECT 1 FROM cases WHERE id = ? AND {where}", [case.id, *values])
    return found.fetchone() is not None


def mark(db: Database, case_id: int, *columns: str) -> str:
    """Set these time columns (``assessed_at``, ``escalated_at``, ``review_due_at`` ...) to
    now; in the caller's transaction. Returns the time written."""
    stamp = now()
    update(db, "cases", case_id, dict.fromkeys(columns, stamp))
    return stamp


def mark_urgent(db: Database, case_id: int) -> None:
    """Upgraded to urgent by the on-call duty; in the caller's transaction."""
    update(db, "cases", case_id, {"urgent": 1, "updated_at": now()})


def record_command(
    db: Database, row_id: int, reason: str, case_id: int | None, sender: str, subject: str
) -> None:
    """The command message is done: it was an instruction, not a report to relay."""
    update(db, "messages", row_id, {
        "state": MessageState.DONE.value, "outcome": "command", "reason": reason,
        "case_id": case_id, "from_addr": sender, "subject": subject,
    })  # fmt: skip
