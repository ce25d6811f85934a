"""What the period report reads of the deviation record, by dates (issue 19, point 8).

The figures are counts only. The closed-case list is the one place a report shows a
cause or a measure: its caller de-identifies them (gateway/period_mail.py) and a
deployment can switch the list off. Nothing here reads a subject, a text of a message
or an address. Dates are ``YYYY-MM-DD``, inclusive; timestamps compare by their date.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.store.db import Database

RECORD_FIGURES = (
    "measures_planned",  # measures added in the period
    "measures_done",  # measures marked done in the period
    "measures_overdue",  # at the period's end: past their own deadline, not done
    "reviews_due",  # post-incident reviews opened in the period
    "reviews_done",  # reviews held in the period
    "reviews_overdue",  # at the period's end: reminded of and not held
)


def record_figures(db: Database, start: str, end: str) -> dict[str, int]:
    """The measures and reviews of a period, as counts."""
    planned, done, late = db.execute(
        "SELECT COALESCE(SUM(substr(added_at, 1, 10) BETWEEN ?1 AND ?2), 0), "
        "COALESCE(SUM(substr(done_at, 1, 10) BETWEEN ?1 AND ?2), 0), "
        "COALESCE(SUM(due < ?2 AND substr(added_at, 1, 10) <= ?2 "
        "AND (done_at IS NULL OR substr(done_at, 1, 10) > ?2)), 0) FROM case_measures",
        [start, end],
    ).fetchone()
    due, held, overdue = db.execute(
        "SELECT COALESCE(SUM(substr(review_due_at, 1, 10) BETWEEN ?1 AND ?2), 0), "
        "COALESCE(SUM(substr(review_done_at, 1, 10) BETWEEN ?1 AND ?2), 0), "
        "COALESCE(SUM(substr(review_reminded_at, 1, 10) <= ?2 AND (review_done_at IS NULL "
        "OR substr(review_done_at, 1, 10) > ?2)), 0) FROM cases WHERE review_due_at IS NOT NULL",
        [start, end],
    ).fetchone()
    return dict(zip(RECORD_FIGURES, (planned, done, late, due, held, overdue), strict=True))


@dataclass(frozen=True)
class ClosedCase:
    """A case closed in the period, for the report's list: its cause and measures are
    the raw texts here, to be de-identified before anyone reads them."""

    reference: str
    category: str | None
    cause: str | None
    measures: tuple[str, ...]


def closed_cases(db: Database, start: str, end: str) -> list[ClosedCase]:
    """The cases closed (``lukket``) in the period, oldest closing first."""
    rows = db.execute(
        "SELECT id, reference, category, cause, measure FROM cases WHERE status = 'lukket' "
        "AND substr(closed_at, 1, 10) BETWEEN ? AND ? ORDER BY closed_at, id",
        [start, end],
    ).fetchall()
    out = []
    for case_id, reference, category, cause, closing in rows:
        found = db.execute(
            "SELECT text FROM case_measures WHERE case_id = ? ORDER BY number", [case_id]
        ).fetchall()
        measures = [m[0] for m in found]
        if closing and closing not in measures:  # the measure of a plain ``#lukk <tiltak>``
            measures.append(closing)
        out.append(ClosedCase(reference, category, cause, tuple(measures)))
    return out
