"""A search word is asked of the full-text index as the terms it starts, not as FTS5's
prefix query (issue 22: 0.2 s for "basestasjon" on a log of a million cases, seconds for
one letter, because FTS5 merges those terms' whole lists), and finds the same cases. The
terms come from an index of every term the search index has held, kept by triggers in
the same transaction (schema.m017_i22_web_search_terms)."""

from __future__ import annotations

import sqlite3
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from gateway.store import migrations, open_db, segments, write
from gateway.store import web as store_web
from gateway.store.search import search_cases
from gateway.store.web import CaseFilter, case_page, search_terms
from gateway.web.access import Scope

EVERYTHING = Scope(everything=True)


def _message(db, case_id: int, text: str | None, late: bool = False) -> None:
    """A case with one message; ``late``: written first without its case and text, and
    given them after, as the pipeline finishes a message (case/record.py)."""
    db.execute("INSERT OR IGNORE INTO cases (id, reference, status) VALUES (?, ?, 'ny')",
               [case_id, f"AVVIK-2026-{case_id:04}"])  # fmt: skip
    if late:
        row = db.execute("INSERT INTO messages (direction, state) VALUES ('in', 'new')").lastrowid
        db.execute("UPDATE messages SET case_id = ?, new_text = ? WHERE id = ?",
                   [case_id, text, row])  # fmt: skip
    else:
        db.execute("INSERT INTO messages (direction, state, case_id, new_text) "
                   "VALUES ('in', 'done', ?, ?)", [case_id, text])  # fmt: skip


def _found(db, query: str) -> list[int]:
    if not query:
        return []
    rows = db.execute("SELECT rowid >> 32 FROM case_words WHERE case_words MATCH ?", [query])
    return sorted({row[0] for row in rows})


def _as_prefixes(text: str) -> str:
    """The query the list asked before: every word as FTS5's prefix query (a word of
    several terms as each of them, the last a prefix: the index has no phrases)."""
    return store_web.prefix_queries(text)


def test_a_word_is_asked_as_the_terms_it_starts(fresh_db):
    with write(fresh_db):
        for i, text in enumerate(["Byttet basestasjonen", "Basestasjon nede", "basis", None], 1):
            _message(fresh_db, i, text, late=i == 2)
        _message(fresh_db, 5, "BASESTASJONENE i Vennesla")
    query = search_terms(fresh_db, "Basestasjon")
    assert query == '("basestasjon" OR "basestasjonen" OR "basestasjonene")'
    assert _found(fresh_db, query) == _found(fresh_db, '"basestasjon"*') == [1, 2, 5]
    assert search_terms(fresh_db, "basestasjon ven") == f'{query} AND ("vennesla")'
    assert search_terms(fresh_db, "ukjent") == '("ukjent")'  # no term: none of the cases


def _asking(db, call, *args, **kwargs):
    """What ``call`` returns, and the texts it asked the database with (its queries)."""
    asked = []
    with db.tracer(lambda sql, params: asked.append(params)):
        found = call(*args, **kwargs)
    return found, [p for params in asked for p in params or () if isinstance(p, str)]


def test_the_case_list_asks_for_terms_not_prefixes(fresh_db):
    with write(fresh_db):
        for i in range(1, 4):
            _message(fresh_db, i, f"Basestasjon {i} byttet")
    page, queries = _asking(
        fresh_db, case_page, fresh_db, EVERYTHING, CaseFilter(text="basestasjon")
    )
    assert [c.id for c in page.cases] == [3, 2, 1]
    assert '("basestasjon")' in queries
    assert not [q for q in queries if q.endswith("*")]


def test_cases_search_asks_for_terms_too(fresh_db):
    """``gateway cases search`` searches as the list does (store/search.py)."""
    with write(fresh_db):
        for i in range(1, 4):
            _message(fresh_db, i, f"Basestasjonen {i} byttet")
    found, queries = _asking(
        fresh_db, search_cases, fresh_db, CaseFilter(text="basestasjon"), limit=2
    )
    assert [c.id for c in found] == [3, 2]
    assert '("basestasjonen")' in queries
    assert not [q for q in queries if q.endswith("*")]


def test_a_word_of_several_terms_or_that_starts_too_many_is_a_prefix_query(fresh_db):
    with write(fresh_db):
        _message(fresh_db, 1, "alarm alarmen alarmer")
    assert search_terms(fresh_db, "alarm") == '("alarm" OR "alarmen" OR "alarmer")'
    with patch.object(store_web, "MAX_TERMS", 2):
        assert search_terms(fresh_db, "alarm") == '"alarm"*'
    assert search_terms(fresh_db, "a_b") == '("a" AND "b"*)'  # two terms to the index


def test_a_word_of_several_terms_finds_each_of_them_anywhere(fresh_db):
    """The index keeps no positions (schema.m017_i22_words_without_positions): a word
    that is two terms to it finds the cases with both, together or apart, in any order."""
    with write(fresh_db):
        _message(fresh_db, 1, "Skrevet av ola.nordmann i natt")
        _message(fresh_db, 2, "Nordmann meldte at Ola ringte")
        _message(fresh_db, 3, "Ola ringte")
    assert [c.id for c in case_page(fresh_db, EVERYTHING, CaseFilter(text="ola.nordm")).cases] == [
        2,
        1,
    ]
    assert _found(fresh_db, search_terms(fresh_db, "ola_nordmann ringte")) == [2]
    assert _found(fresh_db, store_web.prefix_queries("ringte ola_nordmann")) == [2]


def test_a_log_searched_before_finds_the_same_cases_without_positions(db_path):
    old = Database(db_path)
    migrations.apply(old, stop_before="m017_i22_words_without_positions")
    _message(old, 1, "Byttet basestasjonen i Vennesla")
    _message(old, 2, "Strømbrudd ved basestasjon")
    old.execute("INSERT INTO cases (id, reference, status) VALUES (3, 'AVVIK-2026-0003', 'ny')")
    for n in range(10, 310):
        _message(old, n, " ".join(f"ord{n}x{k}" for k in range(400)))
    old.conn.commit()
    old.close()
    db = open_db(db_path)
    # rebuilt in one segment: more texts than FTS5 holds in memory at once (1 MB) made
    # several, and a log upgraded owed their merging
    assert sum(len(level.segments) for level in segments.levels(db, "case_words")) == 1
    assert _found(db, search_terms(db, "basestasjon")) == [1, 2]
    assert _found(db, search_terms(db, "vennesla")) == [1]
    with write(db):  # the triggers feed the new index
        _message(db, 3, "Basestasjonen nede")
        db.execute("UPDATE messages SET new_text = NULL WHERE case_id = 1")
    assert _found(db, search_terms(db, "basestasjon")) == [2, 3]
    with pytest.raises(sqlite3.OperationalError, match="phrase"):  # no positions kept
        _found(db, '"byttet basestasjonen"')


def test_an_existing_log_gets_the_terms_of_its_texts(db_path):
    old = Database(db_path)
    migrations.apply(old, stop_before="m017_i22_web_search_terms")
    _message(old, 1, "Byttet basestasjonen")
    _message(old, 2, "Strømbrudd i Øvre gate ved kafeen")
    old.conn.commit()
    old.close()
    db = open_db(db_path)
    assert search_terms(db, "basestasj") == '("basestasjonen")'
    assert search_terms(db, "STRØMB øvre KAFÉ") == '("strømbrudd") AND ("øvre") AND ("kafeen")'
    assert [c.id for c in case_page(db, EVERYTHING, CaseFilter(text="strøm")).cases] == [2]


WORDS = st.text(alphabet="aøåéÅÉ1_", min_size=1, max_size=3)
TEXTS = st.lists(st.one_of(st.none(), st.lists(WORDS, max_size=4).map(" ".join)), max_size=6)


@settings(max_examples=80, deadline=None)
@given(
    texts=TEXTS,
    late=st.lists(st.booleans(), min_size=6, max_size=6),
    purged=st.sets(st.integers(1, 6), max_size=3),
    changed=st.one_of(st.none(), WORDS),
    search=st.lists(WORDS, min_size=1, max_size=3).map(" ".join),
    cap=st.sampled_from([1, 2, 500]),
)
def test_the_terms_find_what_the_prefixes_find(texts, late, purged, changed, search, cap):
    """Whatever the texts, and after a purge and a change of a text: the same cases."""
    db = open_db(None)
    with write(db):
        for i, text in enumerate(texts, 1):
            _message(db, i, text, late[i - 1])
    with write(db):  # the purge, and an edited text: the index follows, the terms stay
        marks = ", ".join("?" * len(purged))
        db.execute(f"UPDATE messages SET new_text = NULL WHERE case_id IN ({marks})",
                   list(purged))  # fmt: skip
        db.execute("UPDATE messages SET new_text = ? WHERE case_id = 1", [changed])
    with patch.object(store_web, "MAX_TERMS", cap):
        assert _found(db, search_terms(db, search)) == _found(db, _as_prefixes(search))
