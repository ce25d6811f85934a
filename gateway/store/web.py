"""The queries of the web view: a page of cases through filters, search and an access
scope, and whether a party was informed of a case (got a copy).

The scope comes from ``gateway/web/access.py``; it is applied here, in the SQL, so that
a case a viewer may not see is never read for them, not even counted.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from gateway.store.caselog import CaseRow, cases_rows
from gateway.store.db import Database
from gateway.store.terms import phrase, text_of

PAGE_SIZE = 50
COUNT_CAP = 1000  # beyond this the list says "over 1000": an exact count reads every match
WINDOW = 4000  # the newest case ids looked at first, before the whole log
MAX_TERMS = 500  # a word that starts more terms than this is searched as FTS5's prefix


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
    over: bool = False  # more than ``total`` cases match; not counted further


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"\w+", text) if w][:10]


def search_terms(db: Database, text: str) -> str:
    """A full-text query for every word of ``text``, each also as the start of a word.

    Each word is asked as the terms of the index it starts, ``("basestasjon" OR
    "basestasjonen")`` (schema.m017_i22_web_search_terms), not as FTS5's prefix query
    ``"basestasjon"*``, which merges those terms' whole lists, every case of ten years
    (0.2 s at a million cases, seconds for one letter), when the list wants the newest
    few. The same cases match. A word of several terms (``a_b``) or one that starts more
    than ``MAX_TERMS`` is left to FTS5's prefix query (``prefix_query``). A word that
    makes no term (``_``) is left out, as FTS5 leaves out its empty phrase beside others."""
    return _every(text, functools.partial(_word_query, db))


def prefix_queries(text: str) -> str:
    """A full-text query for every word of ``text`` as FTS5's prefix query
    (``prefix_query``): what ``search_terms`` asks, and finds the same cases as."""
    return _every(text, prefix_query)


def _every(text: str, query: Callable[[str, tuple[str, ...]], str]) -> str:
    """Each word's ``query`` (word, its terms), all of them required. A word that makes no
    term is left out, as FTS5 leaves out its empty phrase beside others."""
    words = [(word, _terms_of(word)) for word in _words(text)]
    asked = [query(word, terms) for word, terms in words if terms]
    if not asked:  # nothing but empty phrases: FTS5 finds no case for them
        return " ".join(f'"{word}"*' for word, _terms in words)
    return " AND ".join(asked)  # explicitly: FTS5 takes no implicit AND before a "("


def prefix_query(word: str, terms: tuple[str, ...]) -> str:
    """FTS5's prefix query for ``word`` (whose terms are ``terms``): a word of several
    terms (``a_b``, ``ola.nordmann``) as each of them, the last as a prefix, in any order:
    the index keeps no positions (schema.m017_i22_words_without_positions), so it has no
    phrases, and a case with the terms apart matches too."""
    if len(terms) < 2:
        return f'"{word}"*'
    every = [phrase(term) for term in terms[:-1]] + [phrase(terms[-1]) + "*"]
    return "(" + " AND ".join(every) + ")"


def _word_query(db: Database, word: str, terms: tuple[str, ...]) -> str:
    prefix = prefix_query(word, terms)
    if len(terms) != 1:
        return prefix
    (term,) = terms
    found = db.execute(  # as bytes: a term FTS5 cut inside a character is no text
        "SELECT CAST(term AS BLOB) FROM case_terms_list WHERE term >= ? AND term < ? LIMIT ?",
        [term, term + "\U0010ffff", MAX_TERMS + 1],
    )
    texts = (text_of(row[0]) for row in found)
    started = [t for t in texts if t is not None and t.startswith(term)]
    if len(started) > MAX_TERMS:
        return prefix
    return "(" + " OR ".join(phrase(t) for t in started or [term]) + ")"


_TOKENIZER_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _tokenizer() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    conn.execute("CREATE VIRTUAL TABLE words USING fts5(body)")  # case_words' tokenizer
    conn.execute("CREATE VIRTUAL TABLE word_terms USING fts5vocab(words, instance)")
    return conn


@lru_cache(maxsize=1024)
def _terms_of(word: str) -> tuple[str, ...]:
    """The terms the search index makes of ``word`` (folded case, no diacritics), as its
    own tokenizer makes them, in a small table in memory."""
    with _TOKENIZER_LOCK:
        conn = _tokenizer()
        conn.execute("DELETE FROM words")
        conn.execute("INSERT INTO words (body) VALUES (?)", [word])
        rows = conn.execute("SELECT term FROM word_terms ORDER BY offset").fetchall()
    return tuple(row[0] for row in rows)


def title_query(text: str) -> str:
    """The trigram index's query for a part of a reference or subject (three characters
    or more): each three characters of it, all of them. The index keeps no positions, so
    it cannot ask for them in a row; the cases it narrows to are a few more than those
    that hold the text, and the LIKE after it decides."""
    grams = dict.fromkeys(text[k : k + 3] for k in range(len(text) - 2))
    return " AND ".join('"' + gram.replace('"', '""') + '"' for gram in grams)


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
            cond += (  # a probe of the primary key, only for the rows that get this far
                " OR EXISTS (SELECT 1 FROM participants p WHERE p.case_id = c.id AND p.address "
                f"IN ({', '.join('?' * len(scope.addresses))}))"
            )
            params += list(scope.addresses)
        where.append(f"({cond})")
    return where, params


def _text_sql(f: CaseFilter, lowest: int, params: list, words: str) -> str:
    """The text search: a part of the reference or subject (LIKE, narrowed by the trigram
    index when the text has three letters or more), or words in the messages' new text
    (``words``, the full-text query made of them)."""
    like = _like(f.text)
    cond = "(c.reference LIKE ? ESCAPE '\\' OR c.subject LIKE ? ESCAPE '\\')"
    if len(f.text) >= 3:  # schema.m017_i22_titles_without_positions
        cond = (
            "(c.id IN (SELECT rowid FROM case_titles WHERE case_titles MATCH ? AND rowid >= ?)"
            f" AND {cond})"
        )
        params += [title_query(f.text), lowest]
    params += [like, like]
    if f.text_in_messages and words:  # schema.m012_i22_case_words: rowid = case id << 32 | ...
        cond += " OR c.id IN (SELECT rowid >> 32 FROM case_words WHERE case_words MATCH ? "
        cond += "AND rowid >= ?)"
        params += [words, lowest << 32]
    return f"({cond})"


def _filter_sql(f: CaseFilter, lowest: int, words: str | None = None) -> tuple[list[str], list]:
    """The filter as SQL conditions; ``words``: the text's full-text query, worked out
    once per search (``search_terms``), else each word as FTS5's prefix query."""
    if words is None:
        words = prefix_queries(f.text)
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
        where.append(_text_sql(f, lowest, params, words))
    return where, params


def _newest_ids(
    db: Database, scope, f: CaseFilter, lowest: int, want: int, words: str
) -> list[int]:
    """Up to ``want`` ids of matching cases, newest first, among the ids from ``lowest``."""
    w1, p1 = _scope_sql(scope)
    w2, p2 = _filter_sql(f, lowest, words)
    where = " AND ".join(["c.id >= ?", *w2, *w1])  # the filters narrow before the scope
    sql = f"SELECT c.id FROM cases c WHERE {where} ORDER BY c.id DESC LIMIT ?"
    return [row[0] for row in db.execute(sql, [lowest, *p2, *p1, want]).fetchall()]


def case_page(db: Database, scope, f: CaseFilter, page: int = 1, size: int = 0) -> CasePage:
    """One page of the cases in ``scope`` matching ``f``, newest first.

    Counted up to ``COUNT_CAP`` only, and read from the newest cases down: first among
    the newest ``WINDOW`` ids, then four times as many while they hold too few. So a
    word found in nearly every case costs a few thousand rows, not every match."""
    page, size = max(1, page), size or PAGE_SIZE
    want = max(COUNT_CAP, page * size) + 1
    (top,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM cases").fetchone()
    span = max(WINDOW, 4 * want)
    words = search_terms(db, f.text) if f.text and f.text_in_messages else ""
    ids = _newest_ids(db, scope, f, lowest := max(0, top - span), want, words)
    while len(ids) < want and lowest > 0:  # four times as far back each time
        span *= 4
        ids = _newest_ids(db, scope, f, lowest := max(0, top - span), want, words)
    over = len(ids) == want
    if over:  # the asked page is whole, and there is a next one
        total, pages = len(ids) - 1, page + 1
    else:
        total = len(ids)
        pages = max(1, -(-total // size))
        page = min(page, pages)
    shown = ids[(page - 1) * size : page * size]
    marks = ", ".join("?" * len(shown))
    rows = cases_rows(db, f"SELECT * FROM cases WHERE id IN ({marks}) ORDER BY id DESC", shown)
    return CasePage(rows, total, page, pages, over)


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
