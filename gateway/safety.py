"""What keeps mail safe in the pipeline: quarantine, duplicates, size, bounces, attachments.

Each function writes in the caller's transaction and leaves a readable reason: the
message table says where every message ended and why, the event log says when.
"""

from __future__ import annotations

import logging
import re
from pathlib import PurePath

from sqlite_utils import Database

from gateway.models import ParsedMessage
from gateway.outbox.queue import enqueue
from gateway.references import find_reference
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.store import event, get_raw
from gateway.store import update as store_update

log = logging.getLogger("gateway.safety")

# Attachments that run code when opened: kept with the case, never relayed onward.
EXECUTABLE = {
    ".exe",
    ".com",
    ".scr",
    ".pif",
    ".bat",
    ".cmd",
    ".js",
    ".jse",
    ".vbs",
    ".vbe",
    ".wsf",
    ".wsh",
    ".ps1",
    ".msi",
    ".msp",
    ".hta",
    ".cpl",
    ".jar",
    ".lnk",
    ".reg",
    ".dll",
    ".iso",
    ".docm",
    ".dotm",
    ".xlsm",
    ".xltm",
    ".xlam",
    ".pptm",
    ".potm",
    ".ppam",
    ".ppsm",
    ".sldm",
}
_MSGID = re.compile(rb"<[^<>\s@]+@[^<>\s]+>")


def is_executable(filename: str) -> bool:
    return PurePath(filename.strip().lower()).suffix in EXECUTABLE


def quarantine(db: Database, row_id: int, reason: str) -> None:
    """Park a message for a human, raw bytes kept, with the reason."""
    store_update(
        db, "messages", row_id, {"state": "quarantined", "outcome": "quarantine", "reason": reason}
    )
    event(db, "quarantined", reason, message_id=row_id)
    log.warning("quarantined message %s: %s", row_id, reason)


def duplicate_of(db: Database, row: dict, msg: ParsedMessage) -> int | None:
    """An earlier incoming message that is this one again: the same bytes, or the same
    Message-ID from the same sender with the same body (fetched twice, sent to both
    mailboxes, resent by an MTA; only the transport headers differ). The same
    Message-ID with another body is kept: a reused id must not lose a report.

    The unary ``+`` keeps SQLite from reading these through the index on ``state``, which
    it would otherwise pick, scanning every message ever decided; the hash and the
    Message-ID find the few candidates at once.
    """
    same_bytes = db.execute(
        "SELECT id FROM messages WHERE +direction = 'in' AND +id < ? AND +state = 'done' "
        "AND outcome != 'duplicate' AND sha256 = ? ORDER BY +id LIMIT 1",
        [row["id"], row["sha256"]],
    ).fetchone()
    if same_bytes:
        return same_bytes[0]
    if not msg.message_id:
        return None
    candidates = db.execute(
        "SELECT m.id, r.raw FROM messages m LEFT JOIN raw_messages r ON r.id = m.id "
        "WHERE +m.direction = 'in' AND +m.id < ? AND +m.state = 'done' "
        "AND m.outcome != 'duplicate' AND m.message_id = ? AND m.from_addr = ? "
        "ORDER BY +m.id LIMIT 5",
        [row["id"], msg.message_id, msg.from_addr],
    ).fetchall()
    if candidates:
        mine = _body(get_raw(db, row["id"]) or b"")
        for other_id, other_raw in candidates:
            if other_raw is not None and _body(other_raw) == mine:
                return other_id
    return None


def _body(raw: bytes) -> bytes:
    """The bytes after the header block, line endings normalised."""
    parts = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)
    return parts[1].replace(b"\r\n", b"\n").strip() if len(parts) == 2 else b""


def mark_duplicate(db: Database, row_id: int, msg: ParsedMessage, original: int) -> None:
    reason = f"duplicate of message {original} ({msg.message_id or 'same bytes'}): dropped"
    store_update(
        db,
        "messages",
        row_id,
        {
            "state": "done",
            "outcome": "duplicate",
            "reason": reason,
            "from_addr": msg.from_addr,
            "subject": msg.subject,
        },
    )
    event(db, "duplicate", reason, message_id=row_id)
    log.info("message %s is a duplicate of %s: dropped", row_id, original)


def too_large(db: Database, row: dict, limit: int, ruleset: RuleSet, renderer: Renderer) -> None:
    """Quarantine a message over the size limit; tell its sender if it is a known party."""
    size_mb, limit_mb = row["size"] / 2**20, limit / 2**20
    quarantine(db, row["id"], f"too large: {size_mb:.1f} MB, the limit is {limit_mb:.0f} MB")
    head = db.execute(
        "SELECT substr(raw, 1, 65536) FROM raw_messages WHERE id = ?", [row["id"]]
    ).fetchone()[0]
    sender = _header_address(head, b"from")
    if sender and ruleset.directory.sender(sender) is not None:
        notice = renderer.message(
            "too_large.txt.j2",
            {
                "size_mb": f"{size_mb:.1f}",
                "limit_mb": f"{limit_mb:.0f}",
                "subject": _header(head, b"subject"),
            },
            purpose="notice",
            to=[sender],
            headers={"Auto-Submitted": "auto-replied"},
        )
        enqueue(db, notice)


def _header(head: bytes, name: bytes) -> str:
    found = re.search(rb"^" + name + rb":[ \t]*(.*(?:\r?\n[ \t].*)*)", head, re.I | re.M)
    if not found:
        return ""
    import email.header

    raw = b" ".join(found.group(1).split()).decode("utf-8", "replace")
    try:
        return str(email.header.make_header(email.header.decode_header(raw)))[:200]
    except Exception:
        return raw[:200]


def _header_address(head: bytes, name: bytes) -> str:
    import email.utils

    return email.utils.parseaddr(_header(head, name))[1].lower()


def link_bounce(db: Database, item, ruleset: RuleSet, renderer: Renderer) -> None:
    """A bounce of one of our relays: record the failed delivery on its case, and tell the
    administrators once per returned message. Found by the original Message-ID in the
    report, or the reference in the returned headers."""
    ids = list(dict.fromkeys(m.decode("ascii", "replace") for m in _MSGID.findall(item.raw)))
    row = None
    if ids:
        row = db.execute(
            f"SELECT id, case_id, message_id, to_addrs FROM messages WHERE direction = 'out' "
            f"AND message_id IN ({','.join('?' * len(ids))}) ORDER BY id LIMIT 1",
            ids,
        ).fetchone()
    case_id = row[1] if row else None
    if case_id is None:
        for line in re.findall(rb"^subject:.*$", item.raw, re.I | re.M):
            reference = find_reference(
                line.decode("utf-8", "replace")[8:], ruleset.reference_prefix
            )
            case = db.execute("SELECT id FROM cases WHERE reference = ?", [reference]).fetchone()
            if case:
                case_id = case[0]
                break
    if case_id is None:
        return
    store_update(db, "messages", item.row_id, {"case_id": case_id})
    already = db.execute(
        "SELECT 1 FROM events WHERE case_id = ? AND kind = 'bounce' AND detail LIKE ?",
        [case_id, f"%{row[2] if row else ''}%"],
    ).fetchone()
    detail = f"returned: {row[2]} to {row[3]}" if row else "returned mail for this case"
    event(db, "bounce", detail, case_id=case_id, message_id=item.row_id)
    if row:
        db.execute(
            "UPDATE outbox SET state = 'failed', last_error = ? WHERE message_id = ?",
            ["bounced: " + (item.parsed.subject or "delivery failure")[:200], row[0]],
        )
    if not already:
        reference, subject = db.execute(
            "SELECT reference, subject FROM cases WHERE id = ?", [case_id]
        ).fetchone()
        admins = list(ruleset.directory[ruleset.triage_party].receivers)
        alert = renderer.message(
            "delivery_failed.txt.j2",
            {
                "reference": reference,
                "subject": subject,
                "purpose": "bounce",
                "recipients": [row[3]] if row else [],
                "attempts": 1,
                "error": item.parsed.subject or "delivery failure notice",
                "outbox_id": row[0] if row else "-",
            },
            purpose="alert",
            to=admins,
            case_id=case_id,
            attach_original=item.raw,
        )
        enqueue(db, alert)
        log.warning("bounce for %s: administrators told", reference)
