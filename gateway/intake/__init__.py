"""Intake: take raw messages in (IMAP, SMTP, LMTP) and store them before acknowledging.

Both adapters are thin: they store the bytes with ``accept()`` (state ``received``) and
only then answer 250 or move the message on the IMAP server. Parsing and rules run
later, in the pipeline, so a message that breaks the parser can never block intake.
"""

from __future__ import annotations

import hashlib
import re

from sqlite_utils import Database

from gateway.faults import fault
from gateway.store import event, insert, now, write

# Rows with bytes from this size on are written and read through SQLite's incremental blob
# I/O: a bound parameter is copied by the sqlite3 module, copied again into the record, and
# the copy stays with the cached statement until its next use; a blob costs none of that.
BLOB_BYTES = 1 << 20
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(?:\r?\n[ \t]+)?(<[^<>\s]+>)", re.I | re.M)


def message_id_of(raw: bytes) -> str:
    """The Message-ID from the header block only: a cheap look, not a parse."""
    end = _HEADER_END.search(raw)
    head = raw[: end.start()] if end else raw[:65536]
    found = _MESSAGE_ID.search(head)
    return found.group(1).decode("ascii", "replace") if found else ""


def message_row(raw: bytes, mailbox: str | None, source: str) -> dict:
    return {
        "direction": "in",
        "mailbox": mailbox,
        "source": source,
        "received_at": now(),
        "state": "received",
        "message_id": message_id_of(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "size": len(raw),
        "attempts": 0,
        "raw": raw,
    }


def insert_with_blob(db: Database, table: str, row: dict, column: str = "raw") -> int:
    """``store.insert``, but a big ``column`` value is written without copies of it: the
    row is inserted with a zeroblob of its size, and the bytes written into that. Call
    inside the caller's transaction (the row and its bytes commit together)."""
    data = row.get(column)
    if data is None or len(data) < BLOB_BYTES:
        return insert(db, table, row)
    names = list(row)
    sql = (
        f"INSERT INTO [{table}] ({', '.join(f'[{n}]' for n in names)}) VALUES "
        f"({', '.join('zeroblob(?)' if n == column else '?' for n in names)})"
    )
    row_id = db.conn.execute(sql, [len(data) if n == column else row[n] for n in names]).lastrowid
    with db.conn.blobopen(table, column, row_id) as blob:
        blob.write(data)
    return row_id


def read_blob(db: Database, table: str, column: str, row_id: int) -> bytes | None:
    """A blob read once: ``SELECT`` has SQLite assemble the value and the sqlite3 module
    copy it; the incremental blob API reads the pages straight into the one bytes object."""
    row = db.execute(
        f"SELECT length([{column}]), typeof([{column}]) FROM [{table}] WHERE id = ?", [row_id]
    ).fetchone()
    if row is None or row[1] != "blob" or row[0] < BLOB_BYTES:
        found = db.execute(f"SELECT [{column}] FROM [{table}] WHERE id = ?", [row_id]).fetchone()
        return found[0] if found else None
    with db.conn.blobopen(table, column, row_id, readonly=True) as blob:
        return blob.read()


def read_raw(db: Database, row_id: int) -> bytes | None:
    """The raw bytes of a stored message (``messages.raw``), read once."""
    return read_blob(db, "messages", "raw", row_id)


def store_rows(db: Database, rows: list[dict]) -> list[int]:
    """Store a batch of incoming messages; call inside the caller's ``write(db)``."""
    ids = []
    for row in rows:
        ids.append(insert_with_blob(db, "messages", row))
        event(db, "received", f"{row['source']} ({row['size']} bytes)", message_id=ids[-1])
    return ids


def accept(db: Database, raw: bytes, mailbox: str | None, source: str) -> int:
    """Store one incoming message durably; after this returns it may be acknowledged."""
    with write(db):
        row_id = store_rows(db, [message_row(raw, mailbox, source)])[0]
    fault("after-store")
    return row_id
