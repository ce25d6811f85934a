"""A party's helpdesk opening a new ticket to the gateway (issue 18, point 6).

Ticket systems mark all their mail automatic: Request Tracker sends ``Precedence: bulk``
and ``X-RT-Loop-Prevention``, others ``Auto-Submitted: auto-generated``. Read alone, those
headers would make a new ticket (the supplier opening a deviation to the response centre)
an automatic mail to ignore. A new ticket is told from real automatic mail by what it is
not: it comes from the party's helpdesk, it is not a reply, not an automatic *answer*
(RFC 3834 ``auto-replied``, X-Autoreply, a read receipt), not worded as a notice, does not
begin as an out-of-office reply or a bounce does, and carries the party's own ticket
number (ticket systems put it in every subject). An answer to our mail is never a
new ticket, so a helpdesk that acknowledges what we send cannot start a loop of cases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.helpdesk.notices import worded_kind
from gateway.models import ParsedMessage
from gateway.references import strip_prefixes

if TYPE_CHECKING:
    from gateway.rules.base import RuleSet
    from gateway.rules.parties import Party

_ANSWERS = ("x-autoreply", "x-autorespond")  # headers of automatic answers


def _ours(ruleset: RuleSet) -> set[str]:
    """The gateway's own mail domains: its Message-IDs end in one of them."""
    addresses = (*ruleset.mailboxes.values(), *ruleset.own_addresses)
    return {a.rpartition("@")[2].strip().lower() for a in addresses if "@" in a}


def is_reply(msg: ParsedMessage, ruleset: RuleSet) -> bool:
    """A reply prefix, or threading headers that name one of our messages. A ticket
    system's headers that name only its own (Request Tracker's first mail in a ticket
    has ``References: <RT-Ticket-1@...>``) do not make it a reply to us."""
    if strip_prefixes(msg.subject) != msg.subject.strip():
        return True
    ours = _ours(ruleset)
    ids = (msg.in_reply_to, *msg.references)
    return any(i and i.strip("<> ").rpartition("@")[2].lower() in ours for i in ids)


def automatic_answer(msg: ParsedMessage) -> bool:
    """An automatic answer to a message (RFC 3834), or a read receipt."""
    submitted = msg.header("auto-submitted").split(";")[0].strip().lower()
    precedence = msg.header("precedence").strip().lower()
    return (
        submitted == "auto-replied"
        or precedence == "auto_reply"
        or any(name in msg.headers for name in _ANSWERS)
        or "disposition-notification" in msg.header("content-type").lower()
    )


def _begins_automatic(ruleset: RuleSet, msg: ParsedMessage) -> bool:
    """Begins as rules.yaml's ``automatic_mail:`` says out-of-office and bounces do."""
    automatic = ruleset.automatic
    first = next((line for line in msg.new_text.splitlines() if line.strip()), "")
    return bool(
        (automatic.subject and automatic.subject.match(strip_prefixes(msg.subject)))
        or (automatic.opening and automatic.opening.match(first))
    )


def _helpdesk_of(ruleset: RuleSet, msg: ParsedMessage) -> Party | None:
    """The party whose helpdesk wrote, with its own ticket number: from its ticket
    system's addresses or its own. Without a number it is no ticket (a newsletter from
    the ticket system's domain stays list mail)."""
    party = ruleset.directory.sender(msg.from_addr)
    if party is None or party.helpdesk is None:
        return None
    texts = (strip_prefixes(msg.subject), msg.new_text)
    return party if any(map(party.helpdesk.find, texts)) else None


def new_ticket(ruleset: RuleSet, msg: ParsedMessage) -> Party | None:
    """The party whose helpdesk opens a new ticket with this message, or None."""
    party = _helpdesk_of(ruleset, msg)
    if party is None or is_reply(msg, ruleset) or automatic_answer(msg) or worded_kind(msg):
        return None
    return None if _begins_automatic(ruleset, msg) else party
