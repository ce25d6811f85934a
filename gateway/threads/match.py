"""Find the case a message belongs to, and say how it was found.

In this order: the reference in the subject (after any stacked reply/forward prefixes),
the In-Reply-To/References headers pointing at any message of the case, a reference in
the body (our relays and receipts carry ``Referanse: AVVIK-2026-0042``, which survives
in quoted text when a mail client mangles the subject and drops the headers), and a
plus-address on the intake mailbox (``support+AVVIK-2026-0042@…``), and last a party's
own ticket number (``[Tellu #12345]``, see gateway/helpdesk/), for a helpdesk that keeps
neither our reference nor our Message-IDs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from gateway.helpdesk import tickets
from gateway.helpdesk.new_ticket import is_reply
from gateway.models import ParsedMessage
from gateway.references import find_reference
from gateway.rules.base import RuleSet
from gateway.store import cases
from gateway.store.cases import CaseRef
from gateway.store.db import Database


@dataclass(frozen=True)
class CaseMatch:
    case_id: int
    reference: str
    status: str
    receiving_party: str | None
    matched_by: str  # subject, headers, body, plus-address, ticket or administrator


@lru_cache(maxsize=8)
def _body_pattern(prefix: str | tuple[str, ...]) -> re.Pattern[str]:
    alts = "|".join(re.escape(p) for p in ((prefix,) if isinstance(prefix, str) else prefix))
    return re.compile(
        rf"(?:referanse|referens|reference|ref)\s*:?\s*\[?((?:{alts})-\d{{4}}-\d{{4,}})",
        re.IGNORECASE,
    )


def _match(found: CaseRef | None, matched_by: str) -> CaseMatch | None:
    if found is None:
        return None
    return CaseMatch(
        found.case_id, found.reference, found.status, found.receiving_party, matched_by
    )


def find_case(
    db: Database, msg: ParsedMessage, prefix: str | tuple[str, ...]
) -> tuple[CaseMatch | None, str | None]:
    """The case this message belongs to (or None), and a reference it named that is not
    in the case log (for triage: a reference to a case that does not exist)."""
    missing = None
    if reference := find_reference(msg.subject, prefix):
        if match := _match(cases.by_reference(db, reference), "subject"):
            return match, None
        missing = reference
    ids = [i for i in (msg.in_reply_to, *msg.references) if i]
    if match := _match(cases.by_message_ids(db, ids), "headers"):
        return match, None
    for found in _body_pattern(prefix).finditer(msg.body):
        if match := _match(cases.by_reference(db, found.group(1)), "body"):
            return match, None
    for address in (*msg.to, *msg.cc):
        local = address.partition("@")[0]
        if "+" in local and (reference := find_reference(local.split("+", 1)[1], prefix)):
            if match := _match(cases.by_reference(db, reference), "plus-address"):
                return match, None
            missing = missing or reference
    return None, missing


def find_by_ticket(
    db: Database, msg: ParsedMessage, ruleset: RuleSet
) -> tuple[CaseMatch | None, str | None]:
    """The fifth way: a party's ticket number. A reply with a number no case has is
    triaged with the number named; a new message with one is a new ticket from the
    party's helpdesk, decided by the rules like any report (the number kept)."""
    found_case, found = tickets.case_of(db, ruleset, msg)
    if found is None:
        return None, None
    if match := _match(found_case, "ticket"):
        return match, None
    replying = is_reply(msg, ruleset)  # else a new ticket, as gateway/helpdesk/new_ticket.py
    return None, (f"{found.party.name}: {found.shown}" if replying else None)
