"""Find the case a message belongs to, and say how it was found.

In this order: the reference in the subject (after any stacked reply/forward prefixes),
the In-Reply-To/References headers pointing at any message of the case, a reference in
the body (our relays and receipts carry ``Referanse: AVVIK-2026-0042``, which survives
in quoted text when a mail client mangles the subject and drops the headers), and a
plus-address on the intake mailbox (``support+AVVIK-2026-0042@…``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sqlite_utils import Database

from gateway.models import ParsedMessage
from gateway.references import find_reference


@dataclass(frozen=True)
class CaseMatch:
    case_id: int
    reference: str
    status: str
    matched_by: str  # subject, headers, body or plus-address


@lru_cache(maxsize=8)
def _body_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(
        rf"(?:referanse|referens|reference|ref)\s*:?\s*\[?({re.escape(prefix)}-\d{{4}}-\d{{4,}})",
        re.IGNORECASE,
    )


def _case(db: Database, reference: str) -> dict | None:
    rows = list(
        db.query("SELECT id, reference, status FROM cases WHERE reference = ?", [reference.upper()])
    )
    return rows[0] if rows else None


def find_case(db: Database, msg: ParsedMessage, prefix: str) -> tuple[CaseMatch | None, str | None]:
    """The case this message belongs to (or None), and a reference it named that is not
    in the case log (for triage: a reference to a case that does not exist)."""
    missing = None
    reference = find_reference(msg.subject, prefix)
    if reference:
        if case := _case(db, reference):
            return CaseMatch(case["id"], case["reference"], case["status"], "subject"), None
        missing = reference
    ids = [i for i in (msg.in_reply_to, *msg.references) if i]
    if ids:
        rows = list(
            db.query(
                "SELECT c.id, c.reference, c.status FROM messages m "
                "JOIN cases c ON c.id = m.case_id "
                f"WHERE m.message_id IN ({','.join('?' * len(ids))}) ORDER BY m.id DESC LIMIT 1",
                ids,
            )
        )
        if rows:
            return CaseMatch(
                rows[0]["id"], rows[0]["reference"], rows[0]["status"], "headers"
            ), None
    for found in _body_pattern(prefix).finditer(msg.body):
        if case := _case(db, found.group(1)):
            return CaseMatch(case["id"], case["reference"], case["status"], "body"), None
    for address in (*msg.to, *msg.cc):
        local = address.partition("@")[0]
        if "+" in local and (reference := find_reference(local.split("+", 1)[1], prefix)):
            if case := _case(db, reference):
                return CaseMatch(
                    case["id"], case["reference"], case["status"], "plus-address"
                ), None
            missing = missing or reference
    return None, missing
