"""A purge's merge steps read their pages before their write transaction (issue 22): a
step of FTS5's merging ends only at the end of a word, whose list spans hundreds of pages
on a log of a million cases, and reading them from disk inside the write made steps of
one page take 80-150 ms. The store reads the structure record to know which pages the
next step reads (store/segments.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import retention
from gateway.store import open_db, segments, write
from gateway.store import retention as rows
from gateway.store.schema import SEARCH_AUTOMERGE

WORDS = ["kran", "alarm", "avvik", "leverandor", "frist", "melding", "rapport", "vakt"]


def indexed(transactions: list[int], automerge: int = 0):
    """A database whose case_words got one segment per transaction (``n`` texts each)."""
    db = open_db(None)
    with write(db):
        db.execute("INSERT INTO case_words (case_words, rank) VALUES ('automerge', ?)",
                   [automerge])  # fmt: skip
    row = 0
    for size in transactions:
        with write(db):
            for _ in range(size):
                row += 1
                text = " ".join(WORDS[(row * k) % len(WORDS)] for k in range(1, 40))
                db.execute("INSERT INTO case_words (rowid, body) VALUES (?, ?)",
                           [(row << 32) + row, f"{text} nummer {row}"])  # fmt: skip
    return db


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=1, max_size=40), st.sampled_from([0, 2, 4]))
def test_the_structure_record_names_every_segment_and_its_leaves(transactions, automerge):
    db = indexed(transactions, automerge)
    found = segments.levels(db, "case_words")
    named = [seg for level in found for seg in level.segments]
    assert named and len({seg.id for seg in named}) == len(named)
    for seg in named:  # each leaf of each segment is a row of case_words_data
        base = seg.id << 37
        (leaves,) = db.execute("SELECT COUNT(*) FROM case_words_data WHERE id BETWEEN ? AND ?",
                               [base + seg.first, base + seg.last]).fetchone()  # fmt: skip
        assert leaves == seg.pages
    db.close()


def test_the_pages_read_ahead_are_those_the_next_merge_reads():
    db = indexed([40] * 6)  # six segments on level 0, none merged
    before = segments.levels(db, "case_words")[0].segments
    assert [level.merging for level in segments.levels(db, "case_words")] == [0]
    spans = segments.pages_to_read(db, "case_words", 2)
    assert [first >> 37 for first, _ in spans] == [seg.id for seg in before]
    assert all(
        first == (seg.id << 37) + seg.first for (first, _), seg in zip(spans, before, strict=True)
    )
    assert rows.read_ahead(db, 2) >= len(before)
    with write(db):
        rows.merge_step(db, 2)
    # what was read ahead is what the step merged: those segments are being merged, or gone
    level = segments.levels(db, "case_words")[0]
    merging = {seg.id for seg in level.segments[: level.merging]}
    left = {seg.id for seg in level.segments} & {seg.id for seg in before}
    assert left == merging
    db.close()


def test_nothing_to_read_ahead_when_nothing_is_to_merge():
    db = indexed([3])
    assert segments.pages_to_read(db, "case_words", 10) == []
    assert rows.read_ahead(db, 10) == 0
    empty = open_db(None)
    assert segments.levels(empty, "case_titles") == [] or rows.read_ahead(empty, 5) == 0
    db.close()


def test_each_merge_step_reads_ahead_outside_its_write(monkeypatch):
    db = indexed([20] * 9)
    calls = []

    def reading(database, pages, least=None):
        calls.append(("read", database.conn.in_transaction))
        return 0

    def merging(database, pages, least=None):
        calls.append(("merge", database.conn.in_transaction))
        return len(calls) < 8

    monkeypatch.setattr(rows, "read_ahead", reading)
    monkeypatch.setattr(rows, "merge_step", merging)
    retention.merge_indexes(db, retention.Pace(retention.MERGE_PAGES))
    assert calls == [("read", False), ("merge", True)] * 4
    db.close()


@pytest.mark.parametrize("pages", [1, 50])
def test_a_purge_still_leaves_nothing_to_merge_after_reading_ahead(pages):
    db = indexed([10] * 12)
    retention.merge_indexes(db, retention.Pace(pages))
    with write(db):  # nothing a level of 16 would merge (the purge merges at 16)
        assert not rows.merge_step(db, 1000, SEARCH_AUTOMERGE)
    db.close()


def _varints(*numbers: int) -> bytes:
    out = b""
    for n in numbers:  # small numbers only: one byte each below 128, two below 16384
        out += bytes([0x80 | (n >> 7), n & 0x7F]) if n >= 128 else bytes([n])
    return out


def test_a_record_of_version_2_or_one_not_understood():
    """SQLite 3.44 on may write a structure record of version 2 (five more numbers per
    segment); a record this cannot read gives no levels, so nothing is read ahead."""
    db = open_db(None)
    db.execute("CREATE TABLE probe_data (id INTEGER PRIMARY KEY, block BLOB)")
    v2 = b"\0\0\0\1" + segments.STRUCTURE_V2 + _varints(1, 2, 9, 0, 2)
    v2 += _varints(3, 1, 200, 0, 0, 0, 0, 7) + _varints(4, 5, 6, 0, 0, 0, 0, 7)
    db.execute("INSERT INTO probe_data VALUES (10, ?)", [v2])
    assert segments.levels(db, "probe") == [
        segments.Level(0, (segments.Segment(3, 1, 200), segments.Segment(4, 5, 6)))
    ]
    db.execute("UPDATE probe_data SET block = ? WHERE id = 10", [b"\0\0\0\1\5\5"])
    assert segments.levels(db, "probe") == []
    db.close()
