"""A purge's write transactions do not merge the search indexes at commit (issue 22: a
batch of 25 ms took 100-360 ms when FTS5 merged its segments there); the merging is
done afterwards in steps of its own, and merging at commit is on again when it ends."""

from __future__ import annotations

import pytest
from purge_helpers import NOW, closed_cases

from gateway import retention
from gateway.store import merges, open_db, segments, write
from gateway.store import retention as rows
from gateway.store.schema import SEARCH_AUTOMERGE


def automerge(db, name: str) -> int:
    found = db.execute(f"SELECT v FROM {name}_config WHERE k = 'automerge'").fetchone()
    return 4 if found is None else found[0]  # FTS5's default when never set


@pytest.fixture
def db():
    database = open_db(None)
    closed_cases(database, 60, "emne {n} kran", "tekst om kran nummer {n}")
    yield database
    database.close()


def test_batches_do_not_merge_at_commit_and_merging_is_back_on_after(db, monkeypatch):
    seen = []
    purge_cases = rows.purge_cases

    def spying(database, cases):
        seen.append([automerge(database, name) for name in rows.SEARCH_INDEXES])
        return purge_cases(database, cases)

    monkeypatch.setattr(rows, "purge_cases", spying)
    report = retention.purge(db, 365, today=NOW, batch=5)
    assert report.cases == 60 and len(seen) > 1
    assert all(modes == [0, 0] for modes in seen)
    assert [automerge(db, name) for name in rows.SEARCH_INDEXES] == [SEARCH_AUTOMERGE] * 2
    # what was merged afterwards leaves nothing that automerge would merge, and no text
    assert merges.owed(db) == 0
    with write(db):
        assert not rows.merge_step(db, 1000, SEARCH_AUTOMERGE)
    assert not db.execute("SELECT rowid FROM case_words WHERE case_words MATCH 'kran'").fetchall()


def test_a_purge_merges_a_level_only_once_it_holds_16(db):
    """A merge step ends only at the end of a word: merging levels of 4 segments, a
    year's purge on a million cases went on to the levels of a year's texts, where one
    step rewrote a word's list in every message (100-260 ms). It merges at 16, as
    automerge and the merger do: its batches' segments stay on level 0 until then."""
    report = retention.purge(db, 365, today=NOW, batch=5)
    assert report.cases == 60
    left = [len(level.segments) for level in segments.levels(db, "case_words")]
    assert 4 <= left[0] < SEARCH_AUTOMERGE, left  # at FTS5's 4, at most 3 were left
    assert not db.execute("SELECT rowid FROM case_words WHERE case_words MATCH 'kran'").fetchall()


def test_merging_is_on_again_when_a_batch_fails(db, monkeypatch):
    def failing(database, cases):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rows, "purge_cases", failing)
    with pytest.raises(RuntimeError):
        retention.purge(db, 365, today=NOW)
    assert [automerge(db, name) for name in rows.SEARCH_INDEXES] == [SEARCH_AUTOMERGE] * 2


def test_a_quick_batch_grows_the_next_by_half_at_most():
    """A vacuum step's pages cost 0.05-0.35 ms each: doubling after a cheap step made
    a transaction of 140 ms of CPU on the 100,000-case log."""
    from unittest import mock

    pace, sizes = retention.Pace(1000), []
    for _ in range(6):
        pace.started = 0.0
        with mock.patch("gateway.retention.time.monotonic", return_value=retention.TARGET_S / 100):
            pace.took()
        sizes.append(pace.size)
    assert sizes == [15, 22, 33, 49, 73, 109]
    assert retention.VACUUM_PAGES * 0.35e-3 < 0.1  # the most pages at the dearest: < 100 ms
