"""The queries of the web view: a page of cases through filters, search and an access
scope, and whether a party was informed of a case (got a copy).

The scope comes from ``gateway/web/access.py``; it is applied here, in the SQL, so that
a case a viewer may not see is never read for them, not even counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.store.caselog import CaseRow, cases_rows
from gateway.store.db import Database

PAGE_SIZE = 50


@dataclass(frozen=True)
class CaseFilter:
    """What the case list is narrowed to; empty values do not narrow."""

    status: str = ""
    flow: str = ""
    party: str = ""  # reporting or receiving
    municipality: str = ""
    kind: str = ""
    overdue: bool = False
    text: str = ""
    text_in_messages: bool = True  # False: the reference and subject only
    today: str = ""  # ISO date: a case is overdue when its close_due is before it


@dataclass(frozen=True)
class CasePage:
    cases: list[CaseRow]
    total: int
    page: int
    pages: int


def _words(text: str) -> str:
    """A full-text query for every word of ``text``, each also as the start of a word."""
    words = [w for w in re.findall(r"\w+", text) if w]
    return " ".join(f'"{w}"*' for w in words[:10])


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _scope_sql(scope) -> tuple[list[str], list]:
    """The access scope (gateway.web.access.Scope) as SQL conditions."""
    where, params = [], []
    if scope.open_only:
        where.append("c.status != 'lukket'")
    if not scope.everything:
        keys = list(scope.parties) or [""]
        marks = ", ".join("?" * len(keys))
        cond = f"c.reporting_party IN ({marks}) OR c.receiving_party IN ({marks})"
        params += keys + keys
        if scope.addresses:
            cond += (
                " OR c.id IN (SELECT case_id FROM participants WHERE address IN "
                f"({', '.join('?' * len(scope.addresses))}))"
            )
            params += list(scope.addresses)
        where.append(f"({cond})")
    return where, params


def _filter_sql(f: CaseFilter) -> tuple[list[str], list]:
    where, params = [], []
    for column, value in (
        ("status", f.status),
        ("flow", f.flow),
        ("municipality", f.municipality),
        ("kind", f.kind),
    ):
        if value:
            where.append(f"c.{column} = ?")
            params.append(value)
    if f.party:
        where.append("(c.reporting_party = ? OR c.receiving_party = ?)")
        params += [f.party, f.party]
    if f.overdue:
        where.append("c.status != 'lukket' AND c.close_due < ?")
        params.append(f.today)
    if f.text:
        like = _like(f.text)
        cond = "c.reference LIKE ? ESCAPE '\\' OR c.subject LIKE ? ESCAPE '\\'"
        params += [like, like]
        words = _words(f.text)
        if f.text_in_messages and words:  # the full-text index (schema.m011_case_text_search)
            cond += " OR c.id IN (SELECT case_id FROM case_text WHERE case_text MATCH ?)"
            params.append(words)
        where.append(f"({cond})")
    return where, params


def case_page(db: Database, scope, f: CaseFilter, page: int = 1, size: int = PAGE_SIZE) -> CasePage:
    """One page of the cases in ``scope`` matching ``f``, newest first."""
    w1, p1 = _scope_sql(scope)
    w2, p2 = _filter_sql(f)
    where = " AND ".join(w1 + w2) or "1"
    params = p1 + p2
    (total,) = db.execute(f"SELECT count(*) FROM cases c WHERE {where}", params).fetchone()
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    rows = cases_rows(
        db,
        f"SELECT c.* FROM cases c WHERE {where} ORDER BY c.id DESC LIMIT ? OFFSET ?",
        [*params, size, (page - 1) * size],
    )
    return CasePage(rows, total, page, pages)


def informed(db: Database, case_id: int, addresses: tuple[str, ...]) -> bool:
    """Whether any of ``addresses`` takes part in the case (a copy to their party)."""
    if not addresses:
        return False
    marks = ", ".join("?" * len(addresses))
    row = db.execute(
        f"SELECT 1 FROM participants WHERE case_id = ? AND address IN ({marks}) LIMIT 1",
        [case_id, *addresses],
    ).fetchone()
    return row is not None
