"""A purge finds its next loose messages (of no case, text or bytes still kept) in a
partial index of the loose messages not purged yet (issue 22): it read every message of
no case ever stored, 100,000 at a million cases, for each batch. The purge marks what
it purged; the migration marks what earlier purges left holding nothing."""

from __future__ import annotations

import datetime as dt

from sqlite_utils import Database

from gateway import retention
from gateway.store import insert, open_db, write
from gateway.store import retention as rows
from gateway.store.schema import migrations

NOW = dt.datetime.now(dt.UTC)
OLD = (NOW - dt.timedelta(days=800)).isoformat(timespec="milliseconds")
NEW = (NOW - dt.timedelta(days=2)).isoformat(timespec="milliseconds")


def loose(db, received_at: str, state: str = "done", text: str | None = "tekst") -> int:
    return insert(db, "messages", {"direction": "in", "state": state, "subject": text,
                  "new_text": text, "received_at": received_at})  # fmt: skip


def test_the_next_loose_messages_are_read_from_the_index_of_those_not_purged():
    db = open_db(None)
    with write(db):
        ids = [loose(db, OLD) for _ in range(5)] + [loose(db, NEW), loose(db, OLD, "received")]
    args = [_cutoff(), "received", 10]
    plan = " ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + rows.LOOSE_BEFORE, args))
    assert "idx_messages_loose_kept" in plan
    assert rows.loose_before(db, _cutoff(), 3) == ids[:3]
    report = retention.purge(db, 365, today=NOW, batch=2)
    assert report.messages == 5
    marked = db.execute("SELECT id FROM messages WHERE purged_at IS NOT NULL").fetchall()
    assert [r[0] for r in marked] == ids[:5]
    assert rows.loose_before(db, _cutoff()) == []
    assert _in_index(db) == [ids[5], ids[6]]  # the kept one and the undecided one
    db.close()


def _cutoff() -> str:
    return (NOW - dt.timedelta(days=365)).isoformat(timespec="milliseconds")


def _in_index(db) -> list[int]:
    found = db.execute(
        "SELECT id FROM messages INDEXED BY idx_messages_loose_kept "
        "WHERE case_id IS NULL AND purged_at IS NULL AND received_at > '' ORDER BY id"
    )
    return [r[0] for r in found]


def test_an_existing_log_has_its_purged_loose_messages_marked(db_path):
    old = Database(db_path)
    migrations.apply(old, stop_before="m017_i22_loose_kept")
    emptied = loose(old, OLD, text=None)  # purged before: nothing kept
    raw_only = loose(old, OLD, text=None)
    old.execute("INSERT INTO raw_messages (id, raw) VALUES (?, x'00')", [raw_only])
    kept = loose(old, OLD)
    waiting = loose(old, OLD, "received", text=None)
    case = old["cases"].insert({"reference": "AVVIK-2020-0001"}).last_pk
    of_case = insert(old, "messages", {"direction": "in", "case_id": case, "received_at": OLD})
    old.conn.commit()
    old.close()
    db = open_db(db_path)
    marked = db.execute("SELECT id FROM messages WHERE purged_at IS NOT NULL").fetchall()
    assert [r[0] for r in marked] == [emptied]
    assert _in_index(db) == [raw_only, kept, waiting]
    assert rows.loose_before(db, _cutoff()) == [raw_only, kept]
    assert of_case not in _in_index(db)
    db.close()


def test_a_loose_message_that_holds_nothing_any_more_leaves_the_index_at_the_next_purge():
    db = open_db(None)  # its text gone another way (not by a purge): nothing to purge,
    with write(db):  # but left unmarked it would be read again by every purge, for ever
        empty, kept = loose(db, OLD, text=None), loose(db, OLD)
    assert _in_index(db) == [empty, kept]
    report = retention.purge(db, 365, today=NOW)
    assert report.messages == 1  # only the one that held a text counts as purged
    assert _in_index(db) == [] and rows.loose_before(db, _cutoff()) == []
    db.close()
