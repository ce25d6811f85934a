"""Who takes part in a case, and on which side: the reporter's or the receiver's.

A reply is relayed to the other side. The reporter and the relay's receivers (and the
copies the rules added) are there from the start; an address a participant puts on
Cc joins the side of the one who added it. A party's ticket system that reported the
case takes part as ``helpdesk``: it writes, is never sent anything (the party's
receivers are), and the party's other addresses write on its side. Anyone else is held
for the administrators.
"""

from __future__ import annotations

from gateway.rules.base import RuleSet
from gateway.store import cases as stored
from gateway.store.db import Database

REPORTER, RECEIVER = "reporter", "receiver"
HELPDESK = stored.WRITES_ONLY  # a ticket system's address: writes on its side, never sent to


def add(db: Database, case_id: int, address: str, side: str, role: str) -> bool:
    """Add a participant (call inside the caller's transaction); False if already there."""
    address = address.strip().lower()
    return bool(address) and stored.add_participant(db, case_id, address, side, role)


def side_of(db: Database, case_id: int, address: str) -> str | None:
    found = stored.participant(db, case_id, address.strip().lower())
    return found[0] if found else None


def role_of(db: Database, case_id: int, address: str) -> str | None:
    """How the address came in: reporter, receiver, copy, cc or party."""
    found = stored.participant(db, case_id, address.strip().lower())
    return found[1] if found else None


def addresses(db: Database, case_id: int, side: str) -> list[str]:
    """The side's addresses that receive (a ``helpdesk`` participant never does)."""
    return stored.participant_addresses(db, case_id, side)


def other(side: str) -> str:
    return RECEIVER if side == REPORTER else REPORTER


def admin_addresses(ruleset: RuleSet) -> set[str]:
    """The administrators' own addresses (not their domain): they answer triage notes."""
    admins = ruleset.directory[ruleset.triage_party]
    return {a for a in (*admins.senders, *admins.receivers) if not a.startswith("*@")}


def sender_side(db: Database, case_id: int, receiving_party: str | None, address: str,
                ruleset: RuleSet) -> str | None:  # fmt: skip
    """The side a sender writes from: as a participant, or as anyone of the receiving
    party (the supplier's technicians write from their own addresses)."""
    if side := side_of(db, case_id, address):
        return side
    party = ruleset.directory.sender(address)
    if party is not None and receiving_party and party.key == receiving_party:
        return RECEIVER
    if party is not None and party.helpdesk is not None:  # its helpdesk reported the case
        for writer, side in stored.writers(db, case_id):
            if (found := ruleset.directory.sender(writer)) and found.key == party.key:
                return side
    return None
