"""The deviation record in the case log: the corrective measures of a case, numbered.

The single fields (event date, category, immediate measure, cause, closing) are columns
of ``cases`` and change through ``cases.update_case``; the measures are rows of
``case_measures``, one per ``#tiltak``, so that each has its own state and deadline.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.store import insert, now
from gateway.store.caselog import CaseRow, cases_rows
from gateway.store.db import Database

PLANNED, DONE = "planned", "done"


@dataclass(frozen=True)
class Measure:
    """One corrective measure of a case."""

    number: int
    text: str
    state: str
    due: str | None = None
    owner: str | None = None
    added_at: str | None = None
    added_by: str | None = None
    done_at: str | None = None


def measures_of(db: Database, case_id: int) -> list[Measure]:
    rows = db.execute(
        "SELECT number, text, state, due, owner, added_at, added_by, done_at "
        "FROM case_measures WHERE case_id = ? ORDER BY number",
        [case_id],
    ).fetchall()
    return [Measure(*row) for row in rows]


def add_measure(db: Database, case_id: int, text: str, state: str, due: str | None,
                owner: str | None, by: str) -> int:  # fmt: skip
    """Add a measure (in the caller's transaction); returns its number in the case."""
    (last,) = db.execute(
        "SELECT COALESCE(MAX(number), 0) FROM case_measures WHERE case_id = ?", [case_id]
    ).fetchone()
    at = now()
    insert(db, "case_measures", {
        "case_id": case_id, "number": last + 1, "text": text, "state": state, "due": due,
        "owner": owner, "added_at": at, "added_by": by, "done_at": at if state == DONE else None,
    })  # fmt: skip
    return last + 1


def mark_done(db: Database, case_id: int, number: int) -> bool:
    """Mark a planned measure done; False when the case has no such planned measure."""
    cursor = db.conn.execute(
        "UPDATE case_measures SET state = ?, done_at = ? "
        "WHERE case_id = ? AND number = ? AND state = ?",
        [DONE, now(), case_id, number, PLANNED],
    )
    return cursor.rowcount == 1


def reviews_not_held(db: Database, reminded: bool) -> list[CaseRow]:
    """Closed urgent cases whose post-incident review is due and not held: those not yet
    reminded of (``reminded=False``), or those reminded of (on the overdue list)."""
    check = "IS NOT NULL" if reminded else "IS NULL"
    return cases_rows(  # through the index of the cases with a review (a few in a hundred):
        db,  # with the statistics of a log of a million cases the planner read every case
        "SELECT * FROM cases INDEXED BY idx_cases_reviews WHERE review_due_at IS NOT NULL "
        f"AND review_done_at IS NULL AND review_reminded_at {check} ORDER BY id",
        [],
    )


@dataclass(frozen=True)
class RecordFigures:
    """Counts for ``gateway stats``: measures and post-incident reviews. No text."""

    measures_planned: int
    measures_done: int
    measures_overdue: int  # planned, past their own deadline
    reviews_due: int  # opened and not held
    reviews_done: int
    reviews_overdue: int  # reminded of and still not held


def figures(db: Database, today: str) -> RecordFigures:
    (planned, done, late) = db.execute(
        "SELECT COALESCE(SUM(state = 'planned'), 0), COALESCE(SUM(state = 'done'), 0), "
        "COALESCE(SUM(state = 'planned' AND due < ?), 0) FROM case_measures",
        [today],
    ).fetchone()
    (due, held, overdue) = db.execute(
        "SELECT COALESCE(SUM(review_done_at IS NULL), 0), COALESCE(SUM(review_done_at IS NOT "
        "NULL), 0), COALESCE(SUM(review_done_at IS NULL AND review_reminded_at IS NOT NULL), 0) "
        "FROM cases WHERE review_due_at IS NOT NULL",
    ).fetchone()
    return RecordFigures(planned, done, late, due, held, overdue)


def awaiting_confirmation(db: Database) -> list[CaseRow]:
    """Cases in "til lukking" by #lukk, not reminded since: the job that follows up an
    unconfirmed closing reads them (``record: closing: unconfirmed_after``)."""
    return cases_rows(
        db,
        "SELECT * FROM cases WHERE status = 'til lukking' AND close_requested_at IS NOT NULL "
        "AND (confirm_reminded_at IS NULL OR confirm_reminded_at < close_requested_at) "
        "ORDER BY id",
        [],
    )


@dataclass(frozen=True)
class OpenCase:
    """A case as ``#oversikt`` lists it to someone on it: no subject, no text."""

    reference: str
    status: str
    urgent: int | None
    measures_due: str | None
    close_due: str | None
    reporting_party: str | None
    receiving_party: str | None
    side: str | None  # the asker's side, when a participant by address


def open_cases_of(db: Database, address: str, party: str | None) -> list[OpenCase]:
    """The open cases an address is on, on the reporting or the receiving side: as a
    participant, or as a sender of the receiving party (who may write into its cases)."""
    rows = db.execute(
        "SELECT c.reference, c.status, c.urgent, c.measures_due, c.close_due, "
        "c.reporting_party, c.receiving_party, p.side FROM cases c "
        "LEFT JOIN participants p ON p.case_id = c.id AND p.address = ? "
        "WHERE c.status != 'lukket' AND (p.side IN ('reporter', 'receiver') "
        "OR (? IS NOT NULL AND c.receiving_party = ?)) ORDER BY c.id",
        [address.strip().lower(), party, party],
    ).fetchall()
    return [OpenCase(*row) for row in rows]


def open_cases_received_by(db: Database, party: str) -> list[OpenCase]:
    """The open cases a party receives, for its weekly list (``open-cases`` job): the
    same columns as ``#oversikt``, never a subject or a text."""
    rows = db.execute(
        "SELECT reference, status, urgent, measures_due, close_due, reporting_party, "
        "receiving_party, 'receiver' FROM cases WHERE status != 'lukket' AND receiving_party = ? "
        "ORDER BY id",
        [party],
    ).fetchall()
    return [OpenCase(*row) for row in rows]
