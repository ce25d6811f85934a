"""The case log's last migrations of issue 22: the index of search terms and how the
search indexes are fed, the purge's indexes, and indexes dropped or narrowed for speed
(``schema.py``).
"""

from __future__ import annotations

from sqlite_utils import Database

from gateway.store.schema_base import SEARCH_AUTOMERGE, SEARCH_CRISISMERGE, migrations


@migrations()
def m017_i22_web_search_terms(db: Database) -> None:
    """Every term the search index (``case_words``) has ever held, once each, so that a
    search word can be turned into the terms it starts (store/web.py ``search_terms``).
    FTS5 answers a prefix query ("basestasjon"*) by merging the whole lists of every
    term it starts, newest case or not: 0.2 s for that word at a million cases, seconds
    for a word of one letter; each term alone is read from the newest case down.

    An FTS5 index of its own, fed the same texts by triggers in the same transaction, but
    every text under the same rowid: FTS5 keeps one entry per term and rowid, so each
    term's list stays one entry long and listing the terms a word starts (the vocabulary
    table ``case_terms_list``) reads a few pages. The triggers never take a term out;
    since m017_i22_terms_pass a pass after each purge does (store/terms.py).
    Filled from the search index's own vocabulary (20 s at a million cases)."""
    db.execute(
        "CREATE VIRTUAL TABLE case_terms USING fts5(body, content = '', detail = none, "
        "columnsize = 0)"
    )
    db.execute("CREATE VIRTUAL TABLE case_terms_list USING fts5vocab(case_terms, row)")
    db.execute(
        "INSERT INTO case_terms (case_terms, rank) VALUES ('automerge', ?)", [SEARCH_AUTOMERGE]
    )
    add = "INSERT INTO case_terms (rowid, body) VALUES (1, NEW.new_text); "
    db.execute(
        "CREATE TRIGGER case_terms_in AFTER INSERT ON messages "
        f"WHEN NEW.case_id IS NOT NULL AND NEW.new_text IS NOT NULL BEGIN {add}END"
    )
    db.execute(  # as case_words_change, but only when a text is new to the index
        "CREATE TRIGGER case_terms_change AFTER UPDATE OF new_text, case_id ON messages "
        "WHEN NEW.case_id IS NOT NULL AND NEW.new_text IS NOT NULL "
        f"AND (OLD.case_id IS NULL OR OLD.new_text IS NOT NEW.new_text) BEGIN {add}END"
    )
    db.execute("CREATE VIRTUAL TABLE temp.case_words_list USING fts5vocab(main, case_words, row)")
    db.execute("INSERT INTO case_terms (rowid, body) SELECT 1, term FROM temp.case_words_list")
    db.execute("DROP TABLE temp.case_words_list")


@migrations()
def m017_i22_loose_kept(db: Database) -> None:
    """The messages of no case that may still hold a text or raw bytes, in a partial
    index of their arrival (issue 22): a purge's next loose messages were found by
    reading every message of no case ever stored (100,000 at a million cases: 0.5-1.6 s
    of the daily purge, cold), each a row of its own. A purge marks what it purged
    (``purged_at``), and the mark takes the row out of the index in the same
    transaction; intake needs nothing: a new message is unmarked. Loose messages
    purged before are marked here (they hold nothing: no text, no raw bytes)."""
    db["messages"].add_column("purged_at", str)
    db.execute(
        "UPDATE messages SET purged_at = strftime('%Y-%m-%dT%H:%M:%f+00:00') "
        "WHERE case_id IS NULL AND state != 'received' AND subject IS NULL AND new_text IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM raw_messages r WHERE r.id = messages.id)"
    )
    db.execute(
        "CREATE INDEX idx_messages_loose_kept ON messages (received_at) "
        "WHERE case_id IS NULL AND purged_at IS NULL"
    )


@migrations()
def m017_i22_words_without_positions(db: Database) -> None:
    """The search index of the messages' texts keeps which texts hold a word, not where
    (FTS5 ``detail = none``, and no sizes per text: ``columnsize = 0``). The case list
    asks for words, never phrases (store/web.py), and the positions were most of the
    index: a word's list is 2.4 times shorter (a sample of 113,677 texts: 266 MB of
    index, 111 MB without), and so is every merge of it. A merge step ends only at the
    end of a word, and a year's list of a word in every message made the purge's and
    the merger's writes of 100-260 ms on a log of a million cases. Rebuilt from the
    texts: about ten minutes at a million cases (1.85 million texts), then merged into
    one segment (FTS5 'optimize'), so that the log owes no merging: filled text by text,
    a level held 30 segments of 14,000 pages, and the first merge after the upgrade
    rewrote 229,000 pages (43 s of merge steps). The triggers of m012 feed it as before
    (they name the index, not its layout)."""
    _rebuilt(
        db,
        "case_words",
        "body",
        "(rowid, body) SELECT (case_id << 32) + id, new_text "
        "FROM messages WHERE case_id IS NOT NULL AND new_text IS NOT NULL",
    )


def _rebuilt(db: Database, name: str, columns: str, fill: str, tokenize: str = "") -> None:
    """Search index ``name`` made again without positions (contentless, ``detail =
    none``, ``columnsize = 0``), with the schema's merge settings, filled by ``fill`` (the
    INSERT's columns and SELECT) and merged into one segment (FTS5 'optimize'), so that
    the log owes no merging after the upgrade."""
    db.execute(f"DROP TABLE {name}")
    db.execute(
        f"CREATE VIRTUAL TABLE {name} USING fts5({columns}, content = '', {tokenize}"
        "detail = none, columnsize = 0)"
    )
    for key, value in (("automerge", SEARCH_AUTOMERGE), ("crisismerge", SEARCH_CRISISMERGE)):
        db.execute(f"INSERT INTO {name} ({name}, rank) VALUES (?, ?)", [key, value])
    db.execute(f"INSERT INTO {name} {fill}")
    db.execute(f"INSERT INTO {name} ({name}) VALUES ('optimize')")


@migrations()
def m017_i22_incoming_hashes(db: Database) -> None:
    """The index of the messages' SHA-256 holds the incoming ones only: the duplicate
    check (store/messages.py) asks for those alone, and each relay and receipt the
    gateway sends put a random key into it, two of a report's three. On a log of a
    million cases that index was 7.9 million random keys, and a report's inserts
    read leaves of it from disk (15-19 MB read per 500 reports after a cold start);
    two thirds of them are gone. About a minute at a million cases."""
    db.execute("DROP INDEX IF EXISTS idx_messages_sha256")
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_messages_sha256_in ON messages (sha256) "
        "WHERE direction = 'in'"
    )


@migrations()
def m017_i22_terms_pass(db: Database) -> None:
    """Where a pass over the index of search terms stands (store/terms.py): a row while
    one is owed, with the last term it checked. A log that holds terms may hold some of
    texts purged before, so it owes a pass at once; a new log owes none."""
    db.execute(
        "CREATE TABLE terms_pass (id INTEGER PRIMARY KEY CHECK (id = 1), after TEXT NOT NULL)"
    )
    db.execute(
        "INSERT INTO terms_pass (id, after) SELECT 1, '' "
        "WHERE EXISTS (SELECT 1 FROM case_terms_list)"
    )


@migrations()
def m017_i22_terms_by_transaction(db: Database) -> None:
    """The index of search terms is fed once a write transaction, not once a text: the
    triggers of m017_i22_web_search_terms now note the message as due, on the same
    conditions, with the length of its text (superseded the same day by
    m017_i22_texts_by_transaction, which feeds the texts' index so too)."""
    db.execute("CREATE TABLE terms_due (message_id INTEGER PRIMARY KEY, chars INTEGER NOT NULL)")
    due = (
        "INSERT INTO terms_due (message_id, chars) VALUES (NEW.id, LENGTH(NEW.new_text)) "
        "ON CONFLICT (message_id) DO UPDATE SET chars = excluded.chars; "
    )
    for name, when in (
        ("case_terms_in", "AFTER INSERT ON messages WHEN "),
        ("case_terms_change", "AFTER UPDATE OF new_text, case_id ON messages WHEN "
         "(OLD.case_id IS NULL OR OLD.new_text IS NOT NEW.new_text) AND "),
    ):  # fmt: skip
        db.execute(f"DROP TRIGGER {name}")
        db.execute(
            f"CREATE TRIGGER {name} {when}NEW.case_id IS NOT NULL "
            f"AND NEW.new_text IS NOT NULL BEGIN {due}END"
        )


@migrations()
def m017_i22_texts_by_transaction(db: Database) -> None:
    """The search index of the texts is fed once a write transaction too, with the index
    of terms (store/indexing.py): the triggers note a text as due (``texts_due``) where
    they inserted it into ``case_words``, and take a text out of ``case_words`` only if
    it is not due (a due text was never put in). The texts the terms still owed are
    given their terms here, and ``terms_due`` goes."""
    db.execute(  # one insert: under one row id each text would be a segment of its own
        "INSERT INTO case_terms (rowid, body) SELECT 1, body FROM (SELECT group_concat("
        "new_text, char(10)) AS body FROM messages WHERE id IN (SELECT message_id FROM "
        "terms_due) AND case_id IS NOT NULL AND new_text IS NOT NULL) WHERE body IS NOT NULL"
    )
    for name in ("case_terms_in", "case_terms_change", "case_words_in", "case_words_change",
                 "case_words_out"):  # fmt: skip
        db.execute(f"DROP TRIGGER {name}")
    db.execute("DROP TABLE terms_due")
    db.execute("CREATE TABLE texts_due (message_id INTEGER PRIMARY KEY, chars INTEGER NOT NULL)")
    new = "NEW.case_id IS NOT NULL AND NEW.new_text IS NOT NULL"
    due = (
        "INSERT OR REPLACE INTO texts_due (message_id, chars) SELECT NEW.id, LENGTH(NEW.new_text) "
        f"WHERE {new}; "
    )
    forget = (  # m012's, for a text that is in the index: one not due
        "INSERT INTO case_words (case_words, rowid, body) SELECT 'delete', "
        "(OLD.case_id << 32) + OLD.id, OLD.new_text WHERE OLD.case_id IS NOT NULL "
        "AND OLD.new_text IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM texts_due WHERE message_id = OLD.id); "
    )
    undue = "DELETE FROM texts_due WHERE message_id = OLD.id; "
    db.execute(f"CREATE TRIGGER texts_in AFTER INSERT ON messages BEGIN {due}END")
    db.execute(  # the old text out (if it was in), then the new one due (if it is one)
        "CREATE TRIGGER texts_change AFTER UPDATE OF new_text, case_id ON messages "
        f"BEGIN {forget}{undue}{due}END"
    )
    db.execute(f"CREATE TRIGGER texts_out AFTER DELETE ON messages BEGIN {forget}{undue}END")


@migrations()
def m017_i22_titles_by_transaction(db: Database) -> None:
    """The index of the cases' references and subjects (m013_i22_case_titles) is fed once
    a write transaction as well (store/indexing.py): its triggers note the case as due
    (``titles_due``), and take a case out of the index only if it is not due."""
    for name in ("case_titles_in", "case_titles_change", "case_titles_out"):
        db.execute(f"DROP TRIGGER {name}")
    db.execute("CREATE TABLE titles_due (case_id INTEGER PRIMARY KEY)")
    due = "INSERT OR REPLACE INTO titles_due (case_id) VALUES (NEW.id); "
    forget = (  # m013's, for a case that is in the index: one not due
        "INSERT INTO case_titles (case_titles, rowid, reference, subject) "
        "SELECT 'delete', OLD.id, OLD.reference, OLD.subject "
        "WHERE NOT EXISTS (SELECT 1 FROM titles_due WHERE case_id = OLD.id); "
    )
    undue = "DELETE FROM titles_due WHERE case_id = OLD.id; "
    db.execute(f"CREATE TRIGGER titles_in AFTER INSERT ON cases BEGIN {due}END")
    db.execute(
        "CREATE TRIGGER titles_change AFTER UPDATE OF reference, subject ON cases "
        f"BEGIN {forget}{due}END"
    )
    db.execute(f"CREATE TRIGGER titles_out AFTER DELETE ON cases BEGIN {forget}{undue}END")


@migrations()
def m017_i22_participants_by_case_only(db: Database) -> None:
    """m010's index of the participants by address is dropped: every query of them names
    the case (the primary key's first column), and the web view's scope probes that key.
    On a log of a million cases each new participant wrote a leaf of it of its own
    (1.4 pages a report in a commit of a few reports)."""
    db.execute("DROP INDEX IF EXISTS idx_participants_address")
    _give_back_pages(db)


def _give_back_pages(db: Database) -> None:
    """The free pages (a dropped index's) back to the file system at once: else the next
    writes take them first, scattered over the file (a burst of 500 reports on a log of
    a million cases, with 35,601 of them free: 0.76 of an empty log's speed, against
    0.89-0.92 in the runs before and after; the retention job gives space back only
    above 1 % of the file). About 8 s for those on a million cases. One page a statement:
    Python's sqlite3 steps ``incremental_vacuum(N)`` once."""
    (free,) = db.execute("PRAGMA freelist_count").fetchone()
    (mode,) = db.execute("PRAGMA auto_vacuum").fetchone()
    for _ in range(free if mode == 2 else 0):  # 2: incremental (m008_incremental_vacuum)
        db.execute("PRAGMA incremental_vacuum(1)")


@migrations()
def m017_i22_undecided_messages(db: Database) -> None:
    """The list of triaged and held messages no administrator has decided yet reads an
    index of those alone: it scanned every message (1 s warm on a log of a million
    cases). m006's index of the messages' direction, mailbox, state and outcome goes:
    the status and the scrape count by tallies since m009 and nothing else reads it,
    while every message wrote to it, on a large log a leaf a commit for each state."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_messages_undecided ON messages (id) "
        "WHERE direction = 'in' AND outcome IN ('triage', 'hold')"
    )
    db.execute("DROP INDEX IF EXISTS idx_messages_direction_mailbox_state_outcome")
    _give_back_pages(db)


@migrations()
def m017_i22_titles_without_positions(db: Database) -> None:
    """The trigram index of the cases' references and subjects keeps which cases hold
    three letters, not where (FTS5 ``detail = none``, no sizes: ``columnsize = 0``), as
    m017_i22_words_without_positions did for the texts. The case list asks for every
    three letters of its text, each alone (store/web.py ``title_query``), and its LIKE
    decides as before. A reference's letters ("AVV", "-20") are in every case, and a
    merge step ends only at the end of one: with positions their lists were about four
    times longer, and a year's purge at a million cases wrote merge steps of 50-121 ms on this
    index alone. Rebuilt from the cases; those still due are added by the next write."""
    _rebuilt(
        db,
        "case_titles",
        "reference, subject",
        "(rowid, reference, subject) SELECT id, reference, subject "
        "FROM cases WHERE id NOT IN (SELECT case_id FROM titles_due) ORDER BY id",
        tokenize="tokenize = 'trigram', ",
    )
