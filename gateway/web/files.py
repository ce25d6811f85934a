"""The attachments of a case's messages, as a viewer may download them.

Read from the stored raw message. Held back: for a party in ``privacy.redact_for``, what
its relay held back (an attachment with personal data); for anyone but the
administrators, a file that runs code when opened (never relayed either).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.attachments import is_executable
from gateway.parse import UnparseableMessage, parse
from gateway.privacy.policy import deidentify
from gateway.rules.base import RuleSet
from gateway.store import get_raw
from gateway.store.db import Database
from gateway.web.access import Viewer


@dataclass(frozen=True)
class File:
    index: int  # its place among the message's attachments, as the download URL names it
    name: str
    size: int
    held: bool  # held back from this viewer: listed, not downloadable


def _parts(raw: bytes):
    """(index, part) of each attachment part of a raw message, in order."""
    msg = parse(raw)
    n = 0
    for part in msg.message.walk():
        name = part.get_filename()
        if part.is_multipart() or not (name or part.get_content_disposition() == "attachment"):
            continue
        yield n, part, msg
        n += 1


def files_of(db: Database, ruleset: RuleSet, viewer: Viewer, message_id: int) -> list[File]:
    """The attachments of one stored message (none once its raw bytes are purged)."""
    raw = get_raw(db, message_id)
    if raw is None:
        return []
    try:
        found = list(_parts(raw))
    except UnparseableMessage:
        return []
    if not found:
        return []
    skip = deidentify(found[0][2], ruleset).skip if viewer.redacted else frozenset()
    out = []
    for n, part, _msg in found:
        name = part.get_filename() or ""
        held = name in skip or (not viewer.admin and is_executable(name))
        size = len(part.get_payload(decode=True) or b"")
        out.append(File(n, name, size, held))
    return out


def download(
    db: Database, ruleset: RuleSet, viewer: Viewer, message_id: int, index: int
) -> tuple[str, bytes] | None:
    """The name and bytes of one attachment this viewer may have, else None."""
    shown = {f.index: f for f in files_of(db, ruleset, viewer, message_id)}
    if index not in shown or shown[index].held:
        return None
    raw = get_raw(db, message_id)
    for n, part, _msg in _parts(raw or b""):
        if n == index:
            return shown[index].name or f"attachment-{n + 1}", part.get_payload(decode=True) or b""
    return None
