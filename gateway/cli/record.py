"""What ``gateway cases show`` prints of the deviation record: fields, then measures."""

from __future__ import annotations

import datetime as dt

from gateway.store import record as measures
from gateway.store.caselog import case_by_id
from gateway.store.db import Database

FIELDS = (
    "event_date",
    "category",
    "immediate_measure",
    "cause",
    "close_requested_at",
    "close_requested_by",
    "closed_without_measures",
    "escalation_step",
)


def record_lines(db: Database, case_id: int) -> list[str]:
    """The record's fields as ``key value`` lines, and one line per measure."""
    case = case_by_id(db, case_id)
    lines = [f"{k:17} {getattr(case, k)}" for k in FIELDS if getattr(case, k) not in (None, "")]
    for m in measures.measures_of(db, case_id):
        extra = "".join(f", {k} {v}" for k, v in (("due", m.due), ("owner", m.owner)) if v)
        lines.append(f"measure {m.number} {m.state:8} {m.text}{extra}")
    return lines


def record_line(db: Database, today: dt.date) -> str:
    """Measures and post-incident reviews as ``gateway stats`` shows them: counts only."""
    f = measures.figures(db, today.isoformat())
    return (
        f"\nMeasures: {f.measures_planned} planned, {f.measures_done} done, "
        f"{f.measures_overdue} planned past their deadline.\n"
        f"Post-incident reviews: {f.reviews_due} due, {f.reviews_done} done, "
        f"{f.reviews_overdue} overdue (reminded of and not held)."
    )
