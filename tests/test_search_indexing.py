"""The search index of the texts and the index of search terms are fed once a write
transaction (store/indexing.py ``add_due``): written by triggers, FTS5 wrote a segment
for each message (each in a savepoint of its own)."""

from __future__ import annotations

from conftest import make_mail
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import pipeline as pipeline_module
from gateway.intake import accept
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.settings import Settings
from gateway.store import indexing, segments, write
from gateway.store.web import search_terms, title_query


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
    assert fresh_db.execute("SELECT COUNT(*) FROM texts_due").fetchone()[0] == 0
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
    monkeypatch.setattr(indexing, "DUE_CHARS", 10)  # every text past it: one insert each
    monkeypatch.setattr(indexing, "CHUNKS", 100)  # and all in the batch's write
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
            assert fresh_db.execute("SELECT COUNT(*) FROM texts_due").fetchone()[0] > 0
            raise RuntimeError("broken off")
    except RuntimeError:
        pass
    assert fresh_db.execute("SELECT COUNT(*) FROM texts_due").fetchone()[0] == 0
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

    monkeypatch.setattr(indexing, "add_due", broken)
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


def test_a_batch_of_reports_adds_its_texts_in_one_segment(fresh_db, ruleset, monkeypatch):
    """The search index of the texts: one segment for the commit, every text found."""
    from gateway.store.search import search_cases
    from gateway.store.web import CaseFilter

    monkeypatch.setattr(pipeline_module, "GROUP_SECONDS", 60.0)

    def count(name: str) -> int:
        return sum(len(lv.segments) for lv in segments.levels(fresh_db, name))

    indexes = ("case_words", "case_titles")
    for name in indexes:
        fresh_db.execute(f"INSERT INTO {name} ({name}, rank) VALUES ('automerge', 0)")
    before = {name: count(name) for name in indexes}
    words = [f"stjerne{k}kikkert" for k in range(20)]
    _reports(fresh_db, ruleset, words)
    # 20 texts (and their relays' and receipts'), 20 cases, one commit: one segment each
    assert {name: count(name) - before[name] for name in indexes} == dict.fromkeys(indexes, 1)
    for word in words:
        assert len(search_cases(fresh_db, CaseFilter(text=word))) == 1, word


def _emptied(db, table: str, due: str, index: str):
    """The log with ``table``, ``due`` and ``index`` emptied (Hypothesis reuses the
    fixture's log), committed, and a write transaction begun as the shell would."""
    db.execute(f"DELETE FROM {table}")
    db.execute(f"DELETE FROM {due}")
    db.execute(f"INSERT INTO {index} ({index}) VALUES ('delete-all')")
    db.conn.commit()
    db.conn.execute("BEGIN IMMEDIATE")
    return db


WORDS = ("alfa", "bravo", "charlie", "delta", "ekko")
Op = st.one_of(
    st.tuples(st.just("new"), st.integers(1, 3), st.lists(st.sampled_from(WORDS), max_size=3)),
    st.tuples(st.just("text"), st.integers(0, 9), st.lists(st.sampled_from(WORDS), max_size=3)),
    st.tuples(st.just("case"), st.integers(0, 9), st.integers(0, 3)),  # 0: no case
    st.tuples(st.just("purge"), st.integers(0, 9), st.just(None)),
    st.tuples(st.just("delete"), st.integers(0, 9), st.just(None)),
    st.tuples(st.just("commit"), st.sampled_from(["gateway", "shell"]), st.just(None)),
    st.tuples(st.sampled_from(["savepoint", "rollback_to", "release"]), st.just(0), st.just(None)),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(Op, max_size=25))
def test_the_index_holds_exactly_the_texts_the_messages_hold(fresh_db, ops):
    """Whatever writes the texts go through (new, changed, moved to another case, purged,
    deleted; in the gateway's writes or committed past them, as by the sqlite3 shell,
    several in one transaction), after the gateway's next write the search index finds
    each word in exactly the messages whose text holds it, and FTS5 finds itself whole."""
    db = _emptied(fresh_db, "messages", "texts_due", "case_words")
    ids: list[int] = []
    saved: list[str] = []  # the savepoints open, as the pipeline's and sqlite-utils' are
    for op, a, b in ops:
        if op == "savepoint":
            saved.append(f"s{len(saved)}")
            db.conn.execute(f"SAVEPOINT {saved[-1]}")
        elif op in ("rollback_to", "release"):
            if saved:
                name = saved.pop()
                if op == "rollback_to":
                    db.conn.execute(f"ROLLBACK TO {name}")
                db.conn.execute(f"RELEASE {name}")
        elif op == "new":
            cur = db.conn.execute(
                "INSERT INTO messages (direction, state, case_id, new_text) "
                "VALUES ('in', 'done', ?, ?)",
                [a, " ".join(b) if b else None],
            )
            ids.append(cur.lastrowid)
        elif op == "commit":
            if a == "gateway":
                indexing.add_due(db)
            db.conn.execute("COMMIT")
            db.conn.execute("BEGIN IMMEDIATE")
            saved.clear()
        elif ids:
            row = ids[a % len(ids)]
            if op == "text":
                sql, args = (
                    "UPDATE messages SET new_text = ? WHERE id = ?",
                    [" ".join(b) or None, row],
                )
            elif op == "case":
                sql, args = "UPDATE messages SET case_id = ? WHERE id = ?", [b or None, row]
            elif op == "purge":
                sql, args = "UPDATE messages SET new_text = NULL WHERE id = ?", [row]
            else:
                sql, args = "DELETE FROM messages WHERE id = ?", [row]
            db.conn.execute(sql, args)
    db.conn.execute("COMMIT")
    while indexing.owed(db):  # the gateway's next writes (a few chunks each)
        with write(db):
            pass
    rows = db.execute("SELECT id, case_id, new_text FROM messages").fetchall()
    for word in WORDS:
        held = {(case << 32) + i for i, case, text in rows
                if case is not None and text and word in text.split()}  # fmt: skip
        found = {
            r
            for (r,) in db.execute("SELECT rowid FROM case_words WHERE case_words MATCH ?", [word])
        }
        assert found == held, word
    db.execute("INSERT INTO case_words (case_words, rank) VALUES ('integrity-check', 0)")


TitleOp = st.one_of(
    st.tuples(st.just("new"), st.lists(st.sampled_from(WORDS), max_size=3)),
    st.tuples(st.just("subject"), st.integers(0, 9), st.lists(st.sampled_from(WORDS), max_size=3)),
    st.tuples(st.just("delete"), st.integers(0, 9)),
    st.tuples(st.just("commit"), st.sampled_from(["gateway", "shell"])),
    st.tuples(st.just("reference"), st.integers(0, 9), st.sampled_from(WORDS)),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(TitleOp, max_size=25))
def test_the_titles_index_holds_exactly_the_cases_subjects(fresh_db, ops):
    """As for the texts: after the gateway's next write, the index of the cases'
    references and subjects finds each word in exactly the cases whose subject holds it."""
    db = _emptied(fresh_db, "cases", "titles_due", "case_titles")
    ids: list[int] = []
    for op, *args in ops:
        if op == "new":
            cur = db.conn.execute(
                "INSERT INTO cases (reference, subject) VALUES (?, ?)",
                [f"R-{len(ids)}", " ".join(args[0]) or None],
            )
            ids.append(cur.lastrowid)
        elif op == "commit":
            if args[0] == "gateway":
                indexing.add_due(db)
            db.conn.execute("COMMIT")
            db.conn.execute("BEGIN IMMEDIATE")
        elif ids:
            row = ids[args[0] % len(ids)]
            if op == "subject":
                db.conn.execute(
                    "UPDATE cases SET subject = ? WHERE id = ?", [" ".join(args[1]) or None, row]
                )
            elif op == "reference":
                db.conn.execute(
                    "UPDATE cases SET reference = ? WHERE id = ?", [f"R-{args[1]}-{row}", row]
                )
            else:
                db.conn.execute("DELETE FROM cases WHERE id = ?", [row])
    db.conn.execute("COMMIT")
    with write(db):  # the gateway's next write
        pass
    rows = db.execute("SELECT id, reference, subject FROM cases").fetchall()
    for word in WORDS:
        held = {i for i, ref, subject in rows  # references: R-<n>, or R-<word>-<id>
                if ref.split("-")[1] == word or (subject and word in subject.split())}  # fmt: skip
        query = title_query(word)  # the case list's: each three letters of the word
        found = db.execute("SELECT rowid FROM case_titles WHERE case_titles MATCH ?", [query])
        assert {r for (r,) in found} == held, word
    db.execute("INSERT INTO case_titles (case_titles, rank) VALUES ('integrity-check', 0)")


def test_a_backlog_made_past_the_gateway_is_indexed_a_little_at_each_write(fresh_db, monkeypatch):
    """A bulk change committed past the gateway (the sqlite3 shell) is not indexed all in
    one write that holds the lock: a few chunks at each write, and the idle merger's
    writes the rest."""
    from gateway.merging import Merger
    from gateway.store.search import search_cases
    from gateway.store.web import CaseFilter

    monkeypatch.setattr(indexing, "DUE_CHUNK", 5)
    monkeypatch.setattr(indexing, "IDLE_CHUNK", 5)
    case = fresh_db.execute("INSERT INTO cases (reference, subject) VALUES ('R-1', 'x')")
    for k in range(35):
        fresh_db.conn.execute(
            "INSERT INTO messages (direction, state, case_id, new_text) "
            "VALUES ('in', 'done', ?, ?)",
            [case.lastrowid, f"planet{k}ring"],
        )
    fresh_db.conn.commit()
    with write(fresh_db):
        pass
    assert fresh_db.execute("SELECT COUNT(*) FROM texts_due").fetchone()[0] == 35 - 10
    steps = 0
    while Merger(fresh_db).step(busy=False):
        steps += 1
    assert steps >= 2 and not indexing.owed(fresh_db)  # 25 left: 15 a write at most
    for k in (0, 34):
        assert len(search_cases(fresh_db, CaseFilter(text=f"planet{k}ring"))) == 1


def test_a_pipeline_commit_indexes_what_is_due_once(fresh_db, monkeypatch):
    """The pipeline's group (QuietWriteGroup) indexes what is due once, before it lets
    merging go, not again in WriteGroup's last step (where merging is on again)."""
    from gateway.store.merges import QuietWriteGroup

    monkeypatch.setattr(indexing, "DUE_CHUNK", 2)
    case = fresh_db.execute("INSERT INTO cases (reference, subject) VALUES ('R-1', 'x')")
    for k in range(10):  # a backlog, committed past the gateway
        fresh_db.conn.execute(
            "INSERT INTO messages (direction, state, case_id, new_text) "
            "VALUES ('in', 'done', ?, ?)",
            [case.lastrowid, f"etterslep{k}"],
        )
    fresh_db.conn.commit()
    group = QuietWriteGroup(fresh_db, 60.0)
    with group.unit():
        pass
    group.commit()
    due = fresh_db.execute("SELECT COUNT(*) FROM texts_due").fetchone()[0]
    assert due == 10 - indexing.CHUNKS * 2  # two chunks of two, once
