"""A party's ticket numbers: found in a message, kept with the case, carried in subjects.

A number counts only in the subject or the new text of the body, never in quoted text
(a reporter's reply quotes the supplier's answer, number and all). It belongs to the
party whose ``ticket_reference`` pattern found it; it is recorded the first time it comes
from that party, and everything the gateway sends the party afterwards carries it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.i18n import phrases
from gateway.models import ParsedMessage
from gateway.references import strip_prefixes
from gateway.rules.base import RuleSet
from gateway.rules.parties import Party
from gateway.store import event
from gateway.store import tickets as stored
from gateway.store.cases import CaseRef
from gateway.store.db import Database
from gateway.store.tickets import Ticket


@dataclass(frozen=True)
class Found:
    """A ticket number in a message, and the party whose pattern found it."""

    party: Party
    name: str
    number: str
    tag: str

    @property
    def shown(self) -> str:
        return f"{self.name} #{self.number}"


def desks(ruleset: RuleSet) -> list[Party]:
    """The parties that have a helpdesk."""
    return [p for p in ruleset.directory.parties.values() if p.helpdesk is not None]


def sender_desk(ruleset: RuleSet, address: str) -> Party | None:
    """The sender's party, when it has a helpdesk."""
    party = ruleset.directory.sender(address)
    return party if party is not None and party.helpdesk is not None else None


def find(ruleset: RuleSet, msg: ParsedMessage, subject_only: bool = False) -> Found | None:
    """The first ticket number in the subject, else in the new text; the sender's own
    party's patterns first (two parties' systems may write alike)."""
    own = sender_desk(ruleset, msg.from_addr)
    parties = [own] if own else []
    parties += [p for p in desks(ruleset) if p is not own]
    texts = [strip_prefixes(msg.subject)] + ([] if subject_only else [msg.new_text])
    for text in texts:
        for party in parties:
            if hit := party.helpdesk.find(text):
                pattern, number = hit
                return Found(party, pattern.name, number, pattern.tag(number))
    return None


def from_helpdesk(ruleset: RuleSet, msg: ParsedMessage) -> Party | None:
    """The party whose helpdesk wrote the message: from one of its ticket system's
    addresses, or from the party with its own ticket number in the message."""
    party = sender_desk(ruleset, msg.from_addr)
    if party is None:
        return None
    if party.helpdesk.speaks(msg.from_addr):
        return party
    found = find(ruleset, msg)
    return party if found is not None and found.party.key == party.key else None


def case_of(
    db: Database, ruleset: RuleSet, msg: ParsedMessage
) -> tuple[CaseRef | None, Found | None]:
    """The case a ticket number names (the fifth way to find a case), and the number.

    From anyone but the party itself only the subject counts: an outsider's subject with
    the number finds the case, so that the chain holds the message (not a participant)."""
    party = sender_desk(ruleset, msg.from_addr)
    found = find(ruleset, msg, subject_only=party is None)
    if found is None:
        return None, None
    return stored.case_by_ticket(db, found.party.key, found.number), found


def note(
    db: Database, ruleset: RuleSet, case_id: int, msg: ParsedMessage, row_id: int | None
) -> Ticket | None:
    """Record the party's ticket number the first time it comes from the party."""
    party = sender_desk(ruleset, msg.from_addr)
    found = find(ruleset, msg) if party is not None else None
    if found is None or found.party.key != party.key:
        return None
    ticket = Ticket(case_id, party.key, found.name, found.number, found.tag)
    if not stored.record(db, ticket, row_id):
        return None
    event(db, "ticket", f"{party.name}: {ticket.shown} (party {party.key})", case_id=case_id,
          message_id=row_id)  # fmt: skip
    return ticket


def subject_tags(db: Database, ruleset: RuleSet, case_id: int, to: list[str]) -> str:
    """The tags of the tickets whose party receives this mail: "[Tellu #12345]"."""
    to_set = {a.strip().lower() for a in to}
    tags = []
    for ticket in stored.of_case(db, case_id):
        party = ruleset.directory.parties.get(ticket.party)
        if party is not None and to_set & set(party.receivers):
            tags.append(ticket.tag)
    return " ".join(tags)


def may_receive(ruleset: RuleSet, address: str) -> bool:
    """False for a ticket system's or no-reply address that is not a party's receiver:
    it writes into cases, but what it is sent nobody reads."""
    address = address.strip().lower()
    if ruleset.directory.is_known_receiver(address):
        return True
    return not any(p.helpdesk.speaks(address) for p in desks(ruleset))


def shown(db: Database, ruleset: RuleSet, case_id: int) -> list[str]:
    """The case's tickets as relays show them: "Leverandørens sak: Tellu #12345"."""
    say = phrases(ruleset.language)
    out = []
    for ticket in stored.of_case(db, case_id):
        party = ruleset.directory.parties.get(ticket.party)
        name = party.name if party else ticket.party
        out.append(say("helpdesk.their_ticket", party=name, ticket=ticket.shown))
    return out
