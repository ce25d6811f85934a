"""The web view's text search reads a full-text index kept by triggers: it finds a word
(or the start of one) in any message of a case, and a purged text leaves it at once."""

from __future__ import annotations

from gateway.store import open_db, write
from gateway.store.web import CaseFilter, case_page
from gateway.web.access import Scope

EVERYTHING = Scope(everything=True)


def found(db, text: str) -> list[str]:
    return [c.reference for c in case_page(db, EVERYTHING, CaseFilter(text=text)).cases]


def test_search_finds_words_in_messages_and_forgets_purged_text():
    db = open_db(None)
    with write(db):
        for i, text in enumerate(["Byttet basestasjonen i Vennesla", "Alarmen piper"], 1):
            db.execute("INSERT INTO cases (id, reference, status) VALUES (?, ?, 'lukket')",
                       [i, f"AVVIK-2026-000{i}"])  # fmt: skip
            db.execute("INSERT INTO messages (direction, state, case_id) "
                       "VALUES ('in', 'received', ?)", [i])  # fmt: skip
            db.execute(
                "UPDATE messages SET new_text = ?, state = 'done' WHERE case_id = ?", [text, i]
            )
    assert found(db, "basestasjonen") == ["AVVIK-2026-0001"]
    assert found(db, "basestasj") == ["AVVIK-2026-0001"]  # the start of a word
    assert found(db, 'piper "OR') == []  # every word must be there; quotes are only text
    assert found(db, "piper") == ["AVVIK-2026-0002"]
    assert found(db, "AVVIK-2026-0002") == ["AVVIK-2026-0002"]  # the reference, as before
    with write(db):
        db.execute("UPDATE messages SET new_text = NULL WHERE case_id = 1")  # the purge
    assert found(db, "basestasjonen") == []
