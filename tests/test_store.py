"""The case log's schema over time: an old database is carried forward, bytes intact."""

from __future__ import annotations

import os

from sqlite_utils import Database

from gateway.store import BLOB_BYTES, get_raw, migrations, open_db, put_raw, write


def test_raw_bytes_move_to_their_own_table_on_upgrade(db_path):
    old = Database(db_path)
    migrations.apply(old, stop_before="m007_raw_apart")  # a database from before m007
    big, small = os.urandom(BLOB_BYTES + 17), b"From: a@b.example\r\n\r\nHei\r\n"
    for raw in (big, small, None):
        old["messages"].insert({"direction": "in", "state": "done", "raw": raw})
    old.close()

    db = open_db(db_path)
    assert "raw" not in db["messages"].columns_dict
    assert [get_raw(db, i) for i in (1, 2, 3)] == [big, small, None]
    assert db["raw_messages"].count == 2
    indexes = {tuple(i.columns) for i in db["messages"].indexes}
    assert {("state",), ("message_id",), ("case_id",)} <= indexes  # kept through the rebuild


def test_big_and_small_bytes_are_stored_and_read_back_unchanged(fresh_db):
    values = {1: os.urandom(3 * BLOB_BYTES), 2: b"x" * (BLOB_BYTES - 1), 3: b""}
    with write(fresh_db):
        for row_id, raw in values.items():
            fresh_db["messages"].insert({"id": row_id, "direction": "out"})
            put_raw(fresh_db, row_id, raw)
    assert {i: get_raw(fresh_db, i) for i in values} == values


def test_the_duplicate_check_looks_messages_up_by_hash_and_message_id(fresh_db):
    """Fast by design: one message's duplicate check must not read every message ever
    decided (through the index on state, which SQLite picks if let), but find its few
    candidates by SHA-256 and Message-ID, whatever the size of the case log."""
    from gateway.store.messages import duplicate_of

    raw = b"From: a@b.example\r\nMessage-ID: <1@b.example>\r\n\r\nHei\r\n"
    with write(fresh_db):
        fresh_db["messages"].insert({"id": 1, "direction": "in", "state": "received",
                                     "sha256": "abc", "message_id": "<1@b.example>"})  # fmt: skip
        put_raw(fresh_db, 1, raw)
    statements: list[str] = []
    fresh_db.conn.set_trace_callback(statements.append)
    duplicate_of(fresh_db, 1, "abc", "<1@b.example>", "a@b.example", raw)
    fresh_db.conn.set_trace_callback(None)
    lookups = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    plans = [
        " ".join(row[3] for row in fresh_db.execute(f"EXPLAIN QUERY PLAN {s}"))
        for s in lookups
        if "FROM messages" in s
    ]
    assert len(plans) == 2
    assert "idx_messages_sha256" in plans[0] and "idx_messages_message_id" in plans[1]


def test_the_hash_index_holds_incoming_messages_only_and_finds_their_duplicates(db_path):
    """The gateway's own mail (relays, receipts) is never asked for by hash: its random
    keys stay out of the index (schema.m017_i22_incoming_hashes), on a log upgraded too."""
    from sqlite_utils import Database

    from gateway.store import migrations, open_db
    from gateway.store.messages import duplicate_of

    raw = b"From: a@b.example\r\n\r\nHei\r\n"
    old = Database(db_path)
    migrations.apply(old, stop_before="m017_i22_incoming_hashes")
    old["messages"].insert({"id": 1, "direction": "in", "state": "done", "outcome": "relay",
                            "sha256": "abc"})  # fmt: skip
    old["messages"].insert({"id": 2, "direction": "out", "state": "sent", "sha256": "def"})
    old.conn.commit()
    old.close()
    db = open_db(db_path)
    with write(db):
        db["messages"].insert({"id": 3, "direction": "out", "state": "queued", "sha256": "ghi"})
    indexed = db.execute(
        "SELECT sha256 FROM messages INDEXED BY idx_messages_sha256_in "
        "WHERE direction = 'in' AND sha256 IS NOT NULL"
    ).fetchall()
    assert indexed == [("abc",)]
    assert duplicate_of(db, None, "abc", "", "a@b.example", raw) == 1
    assert duplicate_of(db, None, "def", "", "a@b.example", raw) is None  # not incoming
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "idx_messages_sha256" not in names


def test_the_pages_of_the_indexes_an_upgrade_drops_go_back_at_once(db_path):
    """m017 drops two indexes nothing read; their pages go back to the file system in the
    upgrade, not left free for the next writes to take, scattered over the file."""
    old = open_db(db_path)
    old.close()
    old = Database(db_path)
    old.execute("DELETE FROM _sqlite_migrations WHERE name = 'm017_i22_undecided_messages'")
    old.execute(  # the index as m006 made it, over enough messages to fill some pages
        'CREATE INDEX "idx_messages_direction_mailbox_state_outcome" '
        'ON "messages" ("direction", "mailbox", "state", "outcome")'
    )
    old.execute("DROP INDEX idx_messages_undecided")
    with old.conn:
        old.conn.executemany(
            "INSERT INTO messages (direction, mailbox, state, outcome) VALUES (?, ?, ?, ?)",
            [("in", f"box-{i}", "done", f"outcome-{i}") for i in range(5000)],
        )
    old.close()
    db = open_db(db_path)
    names = {row[0] for row in db.execute("SELECT name FROM pragma_index_list('messages')")}
    assert "idx_messages_undecided" in names
    assert "idx_messages_direction_mailbox_state_outcome" not in names
    assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0
