"""Intake: take raw messages in (IMAP, SMTP, LMTP) and store them before acknowledging.

Both adapters are thin: they store the bytes with ``accept()`` (state ``received``) and
only then answer 250 or move the message on the IMAP server. Parsing and rules run
later, in the pipeline, so a message that breaks the parser can never block intake.
"""

from __future__ import annotations

import hashlib
import re

from gateway.faults import fault
from gateway.store import now, write
from gateway.store.db import Database
from gateway.store.intake import Arrival, store_arrivals

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(?:\r?\n[ \t]+)?(<[^<>\s]+>)", re.I | re.M)


def message_id_of(raw: bytes) -> str:
    """The Message-ID from the header block only: a cheap look, not a parse."""
    end = _HEADER_END.search(raw)
    head = raw[: end.start()] if end else raw[:65536]
    found = _MESSAGE_ID.search(head)
    return found.group(1).decode("ascii", "replace") if found else ""


def arrival(raw: bytes, mailbox: str | None, source: str) -> Arrival:
    """A message as intake stores it: the raw bytes and what is cheap to know of them."""
    return Arrival(
        mailbox=mailbox,
        source=source,
        received_at=now(),
        message_id=message_id_of(raw),
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        raw=raw,
    )


def accept(db: Database, raw: bytes, mailbox: str | None, source: str) -> int:
    """Store one incoming message durably; after this returns it may be acknowledged."""
    with write(db):
        row_id = store_arrivals(db, [arrival(raw, mailbox, source)])[0]
    fault("after-store")
    return row_id
