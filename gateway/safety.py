"""What keeps mail safe in the pipeline: quarantine, duplicates, size, bounces, attachments.

Each function writes in the caller's transaction and leaves a readable reason: the
message table says where every message ended and why, the event log says when.
"""

from __future__ import annotations

import email.header
import email.utils
import logging
import re

from gateway.i18n import phrases
from gateway.models import Incoming, ParsedMessage
from gateway.outbox.queue import enqueue
from gateway.references import find_reference
from gateway.stage import StageContext
from gateway.store import cases, event, messages
from gateway.store.db import Database

log = logging.getLogger("gateway.safety")

_MSGID = re.compile(rb"<[^<>\s@]+@[^<>\s]+>")


def quarantine(db: Database, row_id: int, reason: str, outcome: str = "quarantine") -> None:
    """Park a message for a human, raw bytes kept, with the reason."""
    messages.quarantine(db, row_id, reason, outcome)
    log.warning("quarantined message %s: %s", row_id, reason)


def mark_duplicate(db: Database, row_id: int, msg: ParsedMessage, reason: str) -> None:
    values = {"outcome": "duplicate", "reason": reason}
    messages.finish(db, row_id, values | {"from_addr": msg.from_addr, "subject": msg.subject})
    event(db, "duplicate", reason, message_id=row_id)
    log.info("message %s: %s", row_id, reason)


def too_large(stage: StageContext, row_id: int, size: int, reason: str) -> None:
    """Quarantine a message over the size limit; tell its sender if it is a known party.
    Only the header block is read: the message may be far too big to parse."""
    db, limit = stage.db, stage.settings.max_message_bytes
    quarantine(db, row_id, reason, "too-large")
    head = messages.head(db, row_id)
    sender = _header_address(head, b"from")
    if sender and stage.rules.directory.sender(sender) is not None:
        say = phrases(stage.rules.language)
        notice = stage.renderer.message(
            "too_large.txt.j2",
            {
                "size_mb": f"{size / 2**20:.1f}".replace(".", say("common.decimal_separator")),
                "limit_mb": f"{limit / 2**20:.0f}",
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
    raw = b" ".join(found.group(1).split()).decode("utf-8", "replace")
    try:
        return str(email.header.make_header(email.header.decode_header(raw)))[:200]
    except Exception:
        return raw[:200]


def _header_address(head: bytes, name: bytes) -> str:
    return email.utils.parseaddr(_header(head, name))[1].lower()


def link_bounce(stage: StageContext, item: Incoming) -> None:
    """A bounce of one of our relays: record the failed delivery on its case, and tell the
    administrators once per returned message. Found by the original Message-ID in the
    report, or the reference in the returned headers."""
    db, ruleset = stage.db, stage.rules
    ids = list(dict.fromkeys(m.decode("ascii", "replace") for m in _MSGID.findall(item.raw)))
    sent = messages.sent_with_ids(db, ids)
    case_id = sent.case_id if sent else None
    if case_id is None:
        case_id = _case_in_subjects(db, item.raw, ruleset.reference_prefixes)
    if case_id is None:
        return
    messages.link_to_case(db, item.row_id, case_id)
    already = messages.bounce_recorded(db, case_id, sent.message_id if sent else "")
    detail = f"returned: {sent.message_id} to {sent.to_addrs}" if sent else "returned mail"
    event(db, "bounce", detail if sent else "returned mail for this case", case_id=case_id,
          message_id=item.row_id)  # fmt: skip
    if sent:
        error = "bounced: " + (item.parsed.subject or "delivery failure")[:200]
        messages.fail_delivery(db, sent.id, error)
    if not already:
        _tell_admins(stage, case_id, sent, item)


def _case_in_subjects(db: Database, raw: bytes, prefix: str | tuple[str, ...]) -> int | None:
    """The case named in any Subject line of the returned message."""
    for line in re.findall(rb"^subject:.*$", raw, re.I | re.M):
        reference = find_reference(line.decode("utf-8", "replace")[8:], prefix)
        found = cases.by_reference(db, reference) if reference else None
        if found:
            return found.case_id
    return None


def _tell_admins(stage: StageContext, case_id: int, sent: messages.Sent | None, item) -> None:
    db, ruleset = stage.db, stage.rules
    reference, subject = cases.reference_and_subject(db, case_id)
    admins = list(ruleset.directory[ruleset.triage_party].receivers)
    alert = stage.renderer.message(
        "delivery_failed.txt.j2",
        {
            "reference": reference,
            "subject": subject,
            "purpose": "bounce",
            "recipients": [sent.to_addrs] if sent else [],
            "attempts": 1,
            "error": item.parsed.subject or "delivery failure notice",
            "outbox_id": sent.id if sent else "-",
        },
        purpose="alert",
        to=admins,
        case_id=case_id,
        attach_original=item.raw,
    )
    enqueue(db, alert)
    log.warning("bounce for %s: administrators told", reference)
