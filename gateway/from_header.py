"""The sender, read once from ``From`` by the RFC 5322 parser, and whether it is unclear.

Only the From address decides who the sender is, so it must be the address every
reader of the message sees: our own mail server's DMARC check, the recipient's mail
client, and the gateway. A From that parsers can read differently (obsolete route
syntax, an address in a comment, several addresses, broken syntax) is not guessed at:
the message goes to triage (``decide/builtin/sender.py``).
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from email import _header_value_parser as rfc5322  # the parser behind email.policy.default
from email.errors import HeaderParseError

AMBIGUOUS = "AmbiguousFrom"  # the defect a ParsedMessage carries for such a From


@dataclass(frozen=True)
class Sender:
    """The From address (lower case) and display name; '' when there is none to trust."""

    address: str
    name: str
    ambiguous: bool


def _strict(value: str) -> tuple[list[str], bool]:
    """The addresses RFC 5322's grammar gives, and whether it found anything obsolete,
    invalid or an address-like comment on the way."""
    try:
        parsed, rest = rfc5322.get_address_list(value)
        mailboxes = [m.addr_spec for a in parsed.addresses for m in a.all_mailboxes]
    except (HeaderParseError, IndexError, ValueError, AttributeError, TypeError):
        return [], True  # the stdlib's parser raises several kinds on hostile input
    addresses = [m.lower() for m in mailboxes if m and "@" in m]
    unclear = bool(rest.strip()) or bool(parsed.all_defects) or len(addresses) < len(mailboxes)
    unclear |= any("@" in c or "<" in c for c in parsed.comments)
    return addresses, unclear


def read_sender(values: list[str]) -> Sender:
    """The one sender of a message's From fields (already unfolded and cleaned)."""
    values = [v for v in values if v.strip()]
    if not any("@" in v for v in values):  # no From, or "MAILER-DAEMON": no sender at all
        return Sender("", "", False)
    strict: list[str] = []
    unclear = False
    for value in values:
        found, odd = _strict(value)
        strict += found
        unclear |= odd
    pairs = email.utils.getaddresses(values)
    lenient = [a.strip().lower() for _n, a in pairs if "@" in a]
    distinct = set(strict) | set(lenient)
    if unclear or len(distinct) != 1 or set(strict) != set(lenient):
        return Sender("", "", True)
    name = next((n for n, a in pairs if "@" in a), "")
    return Sender(distinct.pop(), name, False)
