"""The index of search terms forgets the words no text holds any more.

The web view and ``gateway cases search`` turn a search word into the terms it starts
from an index of every term the texts have held (``case_terms``,
schema.m017_i22_web_search_terms). Its triggers only add: each text's terms under the
same row id, one entry a term. So a name or a number in a text that the retention
purge removed stayed in that index for good, while the text itself was gone.

A pass over the index takes them out. It walks the terms in order, a step at a time
(each in a short write transaction of the caller's), asks the search index of the texts
(``case_words``) for each term, and takes out of ``case_terms`` those it no longer
finds anywhere: they were only in purged or changed texts. A term is checked and taken
out in the same transaction, so a text stored meanwhile cannot lose its term; one
stored later puts it back. A purge owes a pass (``owe``, in the transaction of its
event); the daemon's pipeline thread makes it when it has nothing else to do
(gateway/merging.py), and ``gateway purge`` makes it at once.

Like the texts' own index (README, *What is kept*), FTS5 marks a term taken out and
drops its bytes from the file when the index merges that part of it.

The triggers do not add a text's terms themselves: the texts go into both indexes at
the end of their write transaction (store/indexing.py).
"""

from __future__ import annotations

from gateway.store.db import Database


def owe(db: Database) -> None:
    """A pass is owed, from the first term (in the caller's transaction)."""
    db.execute(
        "INSERT INTO terms_pass (id, after) VALUES (1, '') "
        "ON CONFLICT (id) DO UPDATE SET after = ''"
    )


def owed(db: Database) -> bool:
    """Whether a pass is under way or owed."""
    return db.execute("SELECT 1 FROM terms_pass WHERE id = 1").fetchone() is not None


def read_ahead(db: Database, limit: int) -> None:
    """What the next ``step`` reads, read outside any write, so that the write finds it in
    the cache (the first step of a pass on a cold log of a million cases took 195 ms,
    the rest at most 50)."""
    row = db.execute("SELECT after FROM terms_pass WHERE id = 1").fetchone()
    if row is not None:
        for term in _next(db, row[0], limit):
            if (text := text_of(term)) is not None:
                _held(db, text)


def step(db: Database, limit: int) -> int:
    """The next ``limit`` terms of the pass, in the caller's write transaction: those the
    texts no longer hold are taken out. Returns how many terms were checked; 0 when no
    pass is owed or this one has ended (it is then no longer owed).

    Terms are read as bytes: FTS5 cuts a term at 32,768 bytes, maybe inside a character,
    and such a term is no text (it is passed over: tokenized again it would be another)."""
    row = db.execute("SELECT after FROM terms_pass WHERE id = 1").fetchone()
    if row is None:
        return 0
    found = _next(db, row[0], limit)
    if not found:
        db.execute("DELETE FROM terms_pass WHERE id = 1")
        return 0
    gone = [t for t in map(text_of, found) if t is not None and not _held(db, t)]
    if gone:
        # FTS5 counts the rows of an index and takes one off for each 'delete': one that
        # finds none left fails as a corrupt index. A row with no terms keeps it even.
        db.execute("INSERT INTO case_terms (rowid, body) VALUES (1, '')")
        db.execute(  # a term tokenizes to itself: one row takes them all out
            "INSERT INTO case_terms (case_terms, rowid, body) VALUES ('delete', 1, ?)",
            [" ".join(gone)],
        )
    db.execute("UPDATE terms_pass SET after = ? WHERE id = 1", [found[-1]])
    return len(found)


def _next(db: Database, after: str | bytes, limit: int) -> list[bytes]:
    """The next ``limit`` terms after ``after``, as bytes."""
    rows = db.execute(
        "SELECT CAST(term AS BLOB) FROM case_terms_list WHERE term > CAST(? AS TEXT) "
        "ORDER BY term LIMIT ?",
        [after, limit],
    )
    return [term for (term,) in rows]


def text_of(term: bytes) -> str | None:
    """A term as read from the index (bytes), or None when FTS5 cut it inside a
    character (at 32,768 bytes): then it is no text."""
    try:
        return term.decode()
    except UnicodeDecodeError:
        return None


def _held(db: Database, term: str) -> bool:
    """Whether any text in the search index holds ``term`` (a term of the same tokenizer,
    so, quoted, a phrase of that one term). Asked from the newest text down: the oldest
    are those a purge took out, still in the index, marked, until it merges them."""
    found = db.execute(
        "SELECT 1 FROM case_words WHERE case_words MATCH ? ORDER BY rowid DESC LIMIT 1",
        [phrase(term)],
    )
    return found.fetchone() is not None


def phrase(term: str) -> str:
    """``term`` as an FTS5 phrase (quoted, quotes doubled)."""
    return '"' + term.replace('"', '""') + '"'
