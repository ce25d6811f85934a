"""``gateway cases search``: the web view's case filters (store/web.py), over every case.

The command line is for administrators, who see every case, so no access scope applies.
The text is searched as the web view searches it: the reference and subject, and the
messages' texts through the full-text index (schema.m012_i22_case_words).
"""

from __future__ import annotations

from gateway.store.caselog import CaseRow, cases_rows
from gateway.store.db import Database
from gateway.store.web import CaseFilter, _filter_sql, _like


def search_cases(
    db: Database, f: CaseFilter, reference: str = "", limit: int = 50
) -> list[CaseRow]:
    """The newest cases matching ``f`` whose reference holds ``reference`` (any case)."""
    where, params = _filter_sql(f, 0)
    if reference:  # a whole reference, or a part of one: 2026-00
        where.append("c.reference LIKE ? ESCAPE '\\'")
        params.append(_like(reference))
    return cases_rows(
        db,
        f"SELECT c.* FROM cases c WHERE {' AND '.join(where) or '1'} ORDER BY c.id DESC LIMIT ?",
        [*params, limit],
    )
