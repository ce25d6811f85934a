"""The index of search terms forgets the words no text holds any more (store/terms.py).

Its triggers only add, so the words of a text the retention purge removed (a name, a
number) stayed in it for good. A purge now owes a pass over it; the daemon's idle
pipeline thread makes it (gateway/merging.py), ``gateway purge`` at once."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from conftest import ROOT, make_mail
from sqlite_utils import Database

from gateway.cli import cli
from gateway.intake import accept
from gateway.merging import Merger
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.retention import purge
from gateway.settings import Settings
from gateway.store import migrations, open_db, terms, write
from gateway.store.web import search_terms

NOW = dt.datetime.now(dt.UTC)


def _terms(db) -> set[str]:
    return {term for (term,) in db.execute("SELECT term FROM case_terms_list")}


def _reports(db, ruleset, *bodies: str) -> None:
    for i, body in enumerate(bodies):
        accept(db, make_mail(subject=f"Sak {i}", body=body), "support", "t")
    Pipeline(db, lambda: ruleset, Renderer("gw@trygghet-agder.example", "GW"),
             Settings()).process_batch()  # fmt: skip


def _close_long_ago(db, subject: str) -> None:
    old = (NOW - dt.timedelta(days=500)).isoformat(timespec="milliseconds")
    with write(db):
        db.execute("UPDATE cases SET status = 'lukket', closed_at = ? WHERE subject = ?",
                   [old, subject])  # fmt: skip


def _idle(db) -> int:
    """The daemon's pipeline thread with nothing to decide: its steps until none is left."""
    merger, steps = Merger(db), 0
    while merger.step(busy=False):
        steps += 1
    return steps


def test_a_purged_texts_own_words_leave_the_search_terms(fresh_db, ruleset):
    _reports(fresh_db, ruleset, "Kvasarlampen og brannalarmen svikter.\n", "Brannalarmen piper.\n")
    assert not terms.owed(fresh_db)  # a new log owes no pass
    _close_long_ago(fresh_db, "Sak 0")
    assert {"kvasarlampen", "brannalarmen"} <= _terms(fresh_db)

    purge(fresh_db, 365, today=NOW)
    assert terms.owed(fresh_db) and "kvasarlampen" in _terms(fresh_db)  # until the pass
    assert _idle(fresh_db) >= 1
    assert not terms.owed(fresh_db)
    left = _terms(fresh_db)
    assert "kvasarlampen" not in left and "brannalarmen" in left  # the other case holds it
    assert search_terms(fresh_db, "kvasar") == '("kvasar")'  # no term starts it
    assert search_terms(fresh_db, "brannal") == '("brannalarmen")'

    _reports(fresh_db, ruleset, "Kvasarlampen igjen.\n")  # a new text brings it back
    assert "kvasarlampen" in _terms(fresh_db)
    assert search_terms(fresh_db, "kvasar") == '("kvasarlampen")'


def test_a_busy_pipeline_leaves_the_pass_for_later(fresh_db, ruleset):
    _reports(fresh_db, ruleset, "Kvasarlampen svikter.\n")
    _idle(fresh_db)
    _close_long_ago(fresh_db, "Sak 0")
    purge(fresh_db, 365, today=NOW)
    assert Merger(fresh_db).step(busy=True) is False  # after a batch: mail first
    assert "kvasarlampen" in _terms(fresh_db)


def test_a_word_stored_again_during_a_pass_stays(fresh_db, ruleset):
    """Each step checks its terms in its own write: a text stored before the pass reaches
    a word keeps it, though the purged text that had it is gone."""
    _reports(fresh_db, ruleset, "Zebralampen svikter.\n")
    _idle(fresh_db)
    _close_long_ago(fresh_db, "Sak 0")
    purge(fresh_db, 365, today=NOW)
    with write(fresh_db):
        assert terms.step(fresh_db, 1) == 1  # a first term only: the pass is under way
    _reports(fresh_db, ruleset, "Zebralampen igjen.\n")
    _idle(fresh_db)
    assert "zebralampen" in _terms(fresh_db)


def test_the_purge_command_takes_the_words_out_at_once(db_path, ruleset):
    db = open_db(db_path)
    _reports(db, ruleset, "Kvasarlampen svikter.\n")
    _idle(db)
    _close_long_ago(db, "Sak 0")
    rules = ["--database", str(db_path), "--rules", str(ROOT / "rules.yaml")]
    done = CliRunner().invoke(cli, ["purge", *rules])
    assert done.exit_code == 0 and "purged 1 closed case(s)" in done.output
    assert "kvasarlampen" not in _terms(open_db(db_path))


def test_a_log_purged_before_owes_a_pass(db_path):
    old = Database(db_path)
    migrations.apply(old, stop_before="m017_i22_terms_pass")
    old.execute("INSERT INTO case_terms (rowid, body) VALUES (1, 'glemtnavn')")  # left over
    old.conn.commit()
    old.close()
    db = open_db(db_path)
    assert terms.owed(db)
    _idle(db)
    assert "glemtnavn" not in _terms(db)


def test_a_text_of_many_words_is_taken_out_over_many_steps(fresh_db, ruleset):
    """Each step that takes terms out is one 'delete' of the index; FTS5 counts the index's
    rows and failed as corrupt when the deletes outnumbered the texts (one text of 60
    words, taken out 10 words a step at first)."""
    words = " ".join(f"ordnummer{n}x" for n in range(60))
    _reports(fresh_db, ruleset, f"{words}.\n")
    _close_long_ago(fresh_db, "Sak 0")
    purge(fresh_db, 365, today=NOW)
    assert _idle(fresh_db) > 1
    assert not {t for t in _terms(fresh_db) if t.startswith("ordnummer")}


def test_a_word_cut_inside_a_character_is_passed_over(fresh_db, ruleset):
    """FTS5 cuts a term at 32,768 bytes, here inside a two-byte letter: no text. The pass
    goes on past it, and a search for the words it starts does not fail."""
    _reports(fresh_db, ruleset, "a" + "ж" * 16384 + " kvasarlampen\n")
    _close_long_ago(fresh_db, "Sak 0")
    purge(fresh_db, 365, today=NOW)
    _idle(fresh_db)
    assert not terms.owed(fresh_db)
    assert search_terms(fresh_db, "kvasar") == '("kvasar")'
    asked = search_terms(fresh_db, "a")  # no UnicodeDecodeError, and not asked for
    assert asked.startswith('("') and "ж" not in asked


def test_a_purge_broken_off_still_owes_the_pass(fresh_db, ruleset, monkeypatch):
    import gateway.retention as retention

    _reports(fresh_db, ruleset, "Kvasarlampen svikter.\n")
    _close_long_ago(fresh_db, "Sak 0")

    def broken(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(retention, "merge_indexes", broken)  # after the first batch's write
    with pytest.raises(RuntimeError):
        purge(fresh_db, 365, today=NOW)
    assert terms.owed(fresh_db)
    monkeypatch.undo()
    _idle(fresh_db)
    assert "kvasarlampen" not in _terms(fresh_db)


def test_each_step_reads_its_terms_ahead_outside_its_write(fresh_db, ruleset, monkeypatch):
    """What a step reads is read first outside the write, so that the write finds it in
    the cache (cold, the first step on a million cases held the lock 195 ms)."""
    _reports(fresh_db, ruleset, "Kvasarlampen svikter.\n")
    _close_long_ago(fresh_db, "Sak 0")
    purge(fresh_db, 365, today=NOW)
    ahead, read_ahead = [], terms.read_ahead
    monkeypatch.setattr(terms, "read_ahead", lambda db, n: (
        ahead.append(db.conn.in_transaction), read_ahead(db, n)))  # fmt: skip
    _idle(fresh_db)
    assert ahead and not any(ahead)
    assert "kvasarlampen" not in _terms(fresh_db)
