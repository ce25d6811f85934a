"""The case list stays quick on a large log (issue 22 with 20): the count stops at a cap
and says "over", the newest cases are read first and the whole log only when they hold
too few, and a part of a reference or subject is found through the trigram index, with
the same answers as a LIKE over every case."""

from __future__ import annotations

from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from gateway.store import indexing, migrations, open_db, write
from gateway.store import web as store_web
from gateway.store.web import CaseFilter, case_page
from gateway.web.access import Scope

EVERYTHING = Scope(everything=True)


def _cases(db, subjects: list[str | None], text: str = "ingen treff") -> None:
    with write(db):
        for i, subject in enumerate(subjects, 1):
            db.execute("INSERT INTO cases (id, reference, subject, status) "
                       "VALUES (?, ?, ?, 'ny')", [i, f"AVVIK-2026-{i:04}", subject])  # fmt: skip
            db.execute("INSERT INTO messages (direction, state, case_id, new_text) "
                       "VALUES ('in', 'done', ?, ?)", [i, text])  # fmt: skip


def test_the_count_stops_at_the_cap_and_the_next_page_is_still_there(monkeypatch):
    monkeypatch.setattr(store_web, "COUNT_CAP", 4)
    monkeypatch.setattr(store_web, "WINDOW", 2)
    db = open_db(None)
    _cases(db, [f"Alarm {i}" for i in range(10)], text="basestasjon")
    first = case_page(db, EVERYTHING, CaseFilter(text="basestasjon"), page=1, size=2)
    assert (first.over, first.total, first.pages) == (True, 4, 2)
    assert [c.id for c in first.cases] == [10, 9]
    deep = case_page(db, EVERYTHING, CaseFilter(text="basestasjon"), page=4, size=2)
    assert [c.id for c in deep.cases] == [4, 3] and deep.over and deep.pages == 5
    last = case_page(db, EVERYTHING, CaseFilter(text="basestasjon"), page=5, size=2)
    assert [c.id for c in last.cases] == [2, 1] and not last.over and last.total == 10
    few = case_page(db, EVERYTHING, CaseFilter(text="Alarm 1"), page=1, size=2)
    assert (few.over, few.total, [c.id for c in few.cases]) == (False, 1, [2])  # the old one


SUBJECTS = st.lists(
    st.one_of(st.none(), st.text(alphabet="abcæøåÆØÅ -%_\\\"'", max_size=12)), max_size=8
)


@settings(max_examples=60, deadline=None)
@given(subjects=SUBJECTS, text=st.text(alphabet="abcæøÆØ -%_\\\"'", min_size=1, max_size=8))
def test_a_part_of_a_subject_finds_what_a_like_over_every_case_finds(subjects, text):
    db = open_db(None)
    _cases(db, subjects)
    with write(db):  # the purge and a change of subject keep the index in step
        db.execute("UPDATE cases SET subject = NULL WHERE id = 1")
        db.execute("UPDATE cases SET subject = subject || 'x' WHERE id = 2")
        db.execute("DELETE FROM cases WHERE id = 3")
    f = CaseFilter(text=text, text_in_messages=False)
    got = [c.id for c in case_page(db, EVERYTHING, f, size=100).cases]
    like = store_web._like(text)
    want = [r[0] for r in db.execute(
        "SELECT id FROM cases WHERE reference LIKE ? ESCAPE '\\' OR subject LIKE ? ESCAPE '\\' "
        "ORDER BY id DESC", [like, like])]  # fmt: skip
    assert got == want


def test_an_existing_log_gets_both_indexes(db_path):
    """A log from before the indexes (the old search index m011 in it): the migrations
    fill them from what is there, and the old index and its triggers are gone."""
    old = Database(db_path)
    migrations.apply(old, stop_before="m012_i22_case_words")
    old.execute("INSERT INTO cases (id, reference, subject, status) VALUES "
                "(1, 'AVVIK-2026-0001', 'Dørsensor melder falsk alarm', 'ny')")  # fmt: skip
    old.execute("INSERT INTO messages (direction, state, case_id, new_text) "
                "VALUES ('in', 'done', 1, 'Byttet basestasjonen')")  # fmt: skip
    old.conn.commit()
    old.close()
    db = open_db(db_path)
    assert "case_text" not in db.table_names()
    assert [c.id for c in case_page(db, EVERYTHING, CaseFilter(text="basestasj")).cases] == [1]
    assert [c.id for c in case_page(db, EVERYTHING, CaseFilter(text="sensor mel")).cases] == [1]
    with write(db):  # a deleted message leaves the index with it
        db.execute("DELETE FROM messages WHERE case_id = 1")
    assert case_page(db, EVERYTHING, CaseFilter(text="basestasj")).cases == []


def test_an_existing_titles_index_is_rebuilt_without_positions(db_path):
    """A log from before m017_i22_titles_without_positions: its index of references and
    subjects is rebuilt, a third or less of its size (every case's reference shares its
    letters with every other's, and the positions were most of their lists), and finds
    the same cases; a case still due for it is added by the next write."""
    old = Database(db_path)
    migrations.apply(old, stop_before="m017_i22_titles_without_positions")
    _cases(old, [f"Dørsensor {i} melder falsk alarm" for i in range(300)])
    with write(old):  # the gateway's write indexes them; then one more, left due
        old.execute("INSERT INTO cases (id, reference, subject, status) "
                    "VALUES (301, 'AVVIK-2026-0301', 'Nøkkelboks mangler', 'ny')")  # fmt: skip
        indexing.add_due(old)
    old.execute("INSERT INTO cases (id, reference, subject, status) "
                "VALUES (302, 'AVVIK-2026-0302', 'Nøkkelboks låst', 'ny')")  # fmt: skip
    old.conn.commit()
    (before,) = old.execute("SELECT SUM(LENGTH(block)) FROM case_titles_data").fetchone()
    old.close()
    db = open_db(db_path)
    (after,) = db.execute("SELECT SUM(LENGTH(block)) FROM case_titles_data").fetchone()
    assert after * 3 <= before
    f = CaseFilter(text="sensor 29", text_in_messages=False)
    assert [c.id for c in case_page(db, EVERYTHING, f, size=50).cases] == [*range(300, 290, -1), 30]
    f = CaseFilter(text="AVVIK-2026-0301", text_in_messages=False)
    assert [c.id for c in case_page(db, EVERYTHING, f).cases] == [301]
    f = CaseFilter(text="Nøkkelboks", text_in_messages=False)
    assert [c.id for c in case_page(db, EVERYTHING, f).cases] == [301]  # 302 still due
    with write(db):  # the next write
        pass
    assert [c.id for c in case_page(db, EVERYTHING, f).cases] == [302, 301]


def test_the_page_says_over_and_offers_the_next_page(tmp_path, monkeypatch):
    from web_helpers import ADMIN, Site, sign_in

    monkeypatch.setattr(store_web, "COUNT_CAP", 2)
    monkeypatch.setattr(store_web, "PAGE_SIZE", 1)
    site = Site(tmp_path)
    for i in range(4):
        site.report(subject=f"Alarm nummer {i}")
    page = sign_in(site, ADMIN).get("/saker").get_data(as_text=True)
    assert "Over 2 saker, side 1." in page and 'rel="next"' in page


def test_the_window_widens_step_by_step_and_not_at_once_to_the_whole_log(monkeypatch):
    monkeypatch.setattr(store_web, "COUNT_CAP", 3)
    monkeypatch.setattr(store_web, "WINDOW", 4)
    db = open_db(None)
    _cases(db, [f"Alarm {i}" if i <= 70 else f"Annet {i}" for i in range(1, 101)])
    traced: list[str] = []
    db.conn.set_trace_callback(traced.append)
    page = case_page(db, EVERYTHING, CaseFilter(text="Alarm", text_in_messages=False), size=2)
    assert [c.id for c in page.cases] == [70, 69] and page.over
    bounds = [s for s in traced if s.startswith("SELECT c.id FROM cases c WHERE c.id >= ")]
    assert len(bounds) == 2 and "c.id >= 0 " not in bounds[-1]  # 84, then 36: not all


@settings(max_examples=40, deadline=None)
@given(
    texts=st.lists(st.sampled_from(["basestasjon", "basestasjonen", "alarm", "sensor"]),
                   max_size=14),
    limit=st.integers(1, 6),
    window=st.integers(1, 5),
)  # fmt: skip
def test_cases_search_reads_the_newest_first_and_finds_what_a_search_of_all_finds(
    texts, limit, window
):
    """``gateway cases search`` widens its window like the list: the same cases, newest
    first, as one search over every case."""
    from gateway.store import search

    db = open_db(None)
    for i, text in enumerate(texts, 1):
        _cases_from(db, i, text)
    f = CaseFilter(text="basestasjon")
    with patch.object(search, "WINDOW", 10**6):
        everything = [c.id for c in search.search_cases(db, f, "", limit)]
    with patch.object(search, "WINDOW", window):
        assert [c.id for c in search.search_cases(db, f, "", limit)] == everything
    want = [i for i, text in enumerate(texts, 1) if text.startswith("basestasjon")]
    assert everything == want[::-1][:limit]


def _cases_from(db, i: int, text: str) -> None:
    with write(db):
        db.execute("INSERT INTO cases (id, reference, subject, status) "
                   "VALUES (?, ?, 'Alarm', 'ny')", [i, f"AVVIK-2026-{i:04}"])  # fmt: skip
        db.execute("INSERT INTO messages (direction, state, case_id, new_text) "
                   "VALUES ('in', 'done', ?, ?)", [i, text])  # fmt: skip
