"""The search indexes merge 16 segments at a time (schema.m017_i22_search_merges): each
message's text is a segment of its own, and merging four at a time rewrote it once per
level of an index that grows for ten years."""

from __future__ import annotations

from gateway.store import open_db
from gateway.store.schema import SEARCH_AUTOMERGE, SEARCH_CRISISMERGE, m017_i22_search_merges

INDEXES = ("case_words", "case_titles")


def setting(db, name: str, key: str) -> int | None:
    found = db.execute(f"SELECT v FROM {name}_config WHERE k = ?", [key]).fetchone()
    return found[0] if found else None


def test_a_new_case_log_merges_sixteen_segments_at_a_time():
    db = open_db(None)
    assert [setting(db, n, "automerge") for n in INDEXES] == [SEARCH_AUTOMERGE] * 2 == [16, 16]
    assert [setting(db, n, "crisismerge") for n in INDEXES] == [SEARCH_CRISISMERGE] * 2
    assert SEARCH_CRISISMERGE > SEARCH_AUTOMERGE  # else every merge is a crisis merge


def test_an_existing_log_is_migrated_and_its_search_still_finds(tmp_path):
    db = open_db(tmp_path / "log.db")
    for name in INDEXES:  # as a log made before the migration has it: FTS5's defaults
        db.execute(f"DELETE FROM {name}_config WHERE k IN ('automerge', 'crisismerge')")
    db.execute("INSERT INTO case_words (rowid, body) VALUES ((7 << 32) + 1, 'alarmen er stille')")
    m017_i22_search_merges(db)
    assert [setting(db, n, "automerge") for n in INDEXES] == [16, 16]
    found = db.execute("SELECT rowid >> 32 FROM case_words WHERE case_words MATCH 'stille'")
    assert [r[0] for r in found] == [7]
    db.close()
