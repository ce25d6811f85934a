"""The index of search terms is fed once a write transaction (store/terms.py ``add_due``):
each text under the same row id made FTS5 write a segment of its own, a text at a time."""

from __future__ import annotations

from conftest import make_mail

from gateway import pipeline as pipeline_module
from gateway.intake import accept
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.settings import Settings
from gateway.store import segments, terms, write
from gateway.store.web import search_terms


def _terms(db) -> set[str]:
    return {term for (term,) in db.execute("SELECT term FROM case_terms_list")}


def _segments(db) -> int:
    return sum(len(level.segments) for level in segments.levels(db, "case_terms"))


def _reports(db, ruleset, words: list[str]) -> None:
    for i, word in enumerate(words):
        accept(db, make_mail(subject=f"Sak {i}", body=f"Feil med {word} i dag."), "support", "t")
    Pipeline(db, lambda: ruleset, Renderer("gw@trygghet-agder.example", "GW"),
             Settings()).process_batch()  # fmt: skip


def test_a_batch_of_reports_adds_its_terms_in_one_segment(fresh_db, ruleset, monkeypatch):
    monkeypatch.setattr(pipeline_module, "GROUP_SECONDS", 60.0)  # one commit for them all
    fresh_db.execute("INSERT INTO case_terms (case_terms, rank) VALUES ('automerge', 0)")
    before = _segments(fresh_db)
    words = [f"kvasar{k}lampe" for k in range(30)]
    _reports(fresh_db, ruleset, words)
    assert set(words) <= _terms(fresh_db)  # every text's own word, none lost
    assert _segments(fresh_db) - before == 1  # 30 texts, one commit: one segment
    assert fresh_db.execute("SELECT COUNT(*) FROM terms_due").fetchone()[0] == 0
    assert search_terms(fresh_db, "kvasar7") == '("kvasar7lampe")'


def test_a_text_written_past_the_gateway_gets_its_terms_at_the_next_write(fresh_db, ruleset):
    """The sqlite3 shell's UPDATE notes the text as due; the gateway's next write adds it."""
    _reports(fresh_db, ruleset, ["brannalarm"])
    fresh_db.conn.execute("UPDATE messages SET new_text = 'Ny tekst om nordlysmaskin' "
                          "WHERE case_id IS NOT NULL AND direction = 'in'")  # fmt: skip
    fresh_db.conn.commit()  # committed without the gateway's last step
    assert "nordlysmaskin" not in _terms(fresh_db)
    with write(fresh_db):
        pass
    assert "nordlysmaskin" in _terms(fresh_db)


def test_long_texts_go_in_several_inserts_and_none_is_lost(fresh_db, ruleset, monkeypatch):
    monkeypatch.setattr(terms, "DUE_CHARS", 10)  # every text past it: one insert each
    words = [f"solfanger{k}x" for k in range(7)]
    fresh_db.execute("INSERT INTO case_terms (case_terms, rank) VALUES ('automerge', 0)")
    before = _segments(fresh_db)
    _reports(fresh_db, ruleset, words)
    assert set(words) <= _terms(fresh_db)
    assert _segments(fresh_db) - before >= 7  # one insert (one segment) a text


def test_a_rolled_back_write_leaves_nothing_due(fresh_db, ruleset):
    _reports(fresh_db, ruleset, ["vindmaaler"])
    try:
        with write(fresh_db):
            fresh_db.execute(
                "UPDATE messages SET new_text = 'flyktig ord' WHERE case_id IS NOT NULL"
            )
            assert fresh_db.execute("SELECT COUNT(*) FROM terms_due").fetchone()[0] > 0
            raise RuntimeError("broken off")
    except RuntimeError:
        pass
    assert fresh_db.execute("SELECT COUNT(*) FROM terms_due").fetchone()[0] == 0
    assert "flyktig" not in _terms(fresh_db)


def test_a_failed_last_step_rolls_the_write_back_and_lets_go_of_the_log(
    db_path, ruleset, monkeypatch
):
    """The terms' insert is a write of its own before COMMIT: when it fails (a full
    disk), the transaction is rolled back, not left open holding the write lock."""
    from gateway.store import open_db

    db, other = open_db(db_path), open_db(db_path)

    def broken(db):
        raise OSError("disk full")

    monkeypatch.setattr(terms, "add_due", broken)
    try:
        with write(db):
            db.execute("CREATE TABLE scratch (x)")
    except OSError:
        pass
    assert not db.conn.in_transaction
    monkeypatch.undo()
    with write(other):  # the lock was let go
        other.execute("CREATE TABLE scratch2 (x)")
    with write(db):  # and the connection writes again
        db.execute("CREATE TABLE scratch (x)")
