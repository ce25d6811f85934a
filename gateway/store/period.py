"""What the period report reads of the deviation record, by dates (issue 19, point 8).

The figures are counts only. The closed-case list is the one place a report shows a
cause or a measure: its caller de-identifies them (gateway/period_mail.py) and a
deployment can switch the list off. Nothing here reads a subject, a text of a message
or an address. Dates are ``YYYY-MM-DD``, inclusive; timestamps compare by their date.
"""

from __future__ import annotations

import datetime as dt
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


_CLOSED = (
    "f.status = 'lukket' AND f.closed_at >= ?1 AND f.closed_at < ?3 "
    "AND substr(f.closed_at, 1, 10) BETWEEN ?1 AND ?2"
)


def closed_cases(db: Database, start: str, end: str, newest: int = -1) -> list[ClosedCase]:
    """The cases closed (``lukket``) in the period, oldest closing first; with ``newest``,
    only that many of the most recently closed (a mail's list: a year of a large log
    closes a hundred thousand cases, and only those shown are read). The closings are
    found by the index of closing times (schema.m017_i22_case_figures; the range only
    narrows what the dates' comparison picks) and the measures of all of them read in
    one query. ``-1``: all of them (SQLite's LIMIT -1)."""
    after = (dt.date.fromisoformat(end) + dt.timedelta(days=1)).isoformat()
    chosen = (
        "WITH chosen AS (SELECT f.id, f.closed_at FROM case_figures f "
        f"WHERE {_CLOSED} ORDER BY f.closed_at DESC, f.id DESC LIMIT ?4) "
    )
    rows = db.execute(
        f"{chosen}SELECT c.id, c.reference, c.category, c.cause, c.measure FROM chosen "
        "JOIN cases c ON c.id = chosen.id ORDER BY chosen.closed_at, chosen.id",
        [start, end, after, newest],
    ).fetchall()
    measures: dict[int, list[str]] = {}
    for case_id, text in db.execute(
        f"{chosen}SELECT m.case_id, m.text FROM chosen JOIN case_measures m "
        "ON m.case_id = chosen.id ORDER BY m.case_id, m.number",
        [start, end, after, newest],
    ):
        measures.setdefault(case_id, []).append(text)
    out = []
    for case_id, reference, category, cause, closed_by in rows:
        listed = measures.get(case_id, [])
        if closed_by and closed_by not in listed:  # the measure of a plain ``#lukk <tiltak>``
            listed = [*listed, closed_by]
        out.append(ClosedCase(reference, category, cause, tuple(listed)))
    return out


def closed_count(db: Database, start: str, end: str) -> int:
    """How many cases were closed in the period: the index of closing times alone."""
    after = (dt.date.fromisoformat(end) + dt.timedelta(days=1)).isoformat()
    return db.execute(
        f"SELECT COUNT(*) FROM case_figures f WHERE {_CLOSED}", [start, end, after]
    ).fetchone()[0]
