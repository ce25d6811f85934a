"""``gateway cases search``: the web view's case filters (store/web.py), over every case.

The command line is for administrators, who see every case, so no access scope applies.
The text is searched as the web view searches it: the reference and subject, and the
messages' texts through the full-text index (schema.m012_i22_case_words).
"""

from __future__ import annotations

from gateway.store.caselog import CaseRow, cases_rows
from gateway.store.db import Database
from gateway.store.web import WINDOW, CaseFilter, _filter_sql, _like, search_terms


def search_cases(
    db: Database, f: CaseFilter, reference: str = "", limit: int = 50
) -> list[CaseRow]:
    """The newest cases matching ``f`` whose reference holds ``reference`` (any case).

    Read from the newest cases down, as the web view's list is: first among the newest
    ``WINDOW`` ids, then four times as far back while they hold too few. A word found in
    a case a week costs a few thousand rows, not every match of ten years (two seconds
    on a log of a million cases)."""
    (top,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM cases").fetchone()
    span, lowest = WINDOW, top
    words = search_terms(db, f.text) if f.text and f.text_in_messages else ""
    while True:
        lowest = max(0, top - span)
        rows = _newest(db, f, reference, lowest, limit, words)
        if len(rows) >= limit or lowest == 0:
            return rows
        span *= 4


def _newest(
    db: Database, f: CaseFilter, reference: str, lowest: int, limit: int, words: str
) -> list[CaseRow]:
    where, params = _filter_sql(f, lowest, words)
    if reference:  # a whole reference, or a part of one: 2026-00
        where.append("c.reference LIKE ? ESCAPE '\\'")
        params.append(_like(reference))
    where.insert(0, "c.id >= ?")
    return cases_rows(
        db,
        f"SELECT c.* FROM cases c WHERE {' AND '.join(where)} ORDER BY c.id DESC LIMIT ?",
        [lowest, *params, limit],
    )
