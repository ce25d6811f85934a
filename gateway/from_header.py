"""The sender, read once from ``From`` by the RFC 5322 parser, and whether it is unclear.

Only the From address decides who the sender is, so it must be the address every
reader of the message sees: our own mail server's DMARC check, the recipient's mail
client, and the gateway. A From that parsers can read differently (obsolete route
syntax, an address in a comment, several addresses, broken syntax) is not guessed at:
the message goes to triage (``decide/builtin/sender.py``).
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from email import _encoded_words as _ew  # how that parser decodes an encoded word
from email import _header_value_parser as rfc5322  # the parser behind email.policy.default
from email.errors import HeaderParseError

AMBIGUOUS = "AmbiguousFrom"  # the defect a ParsedMessage carries for such a From

# The common From: a name of words (letters, digits, ' and -, or UTF-8 encoded words)
# and an address in angle brackets, or the address alone; the address a dot-atom of
# common characters @ a host name. Both parsers read it one way, as the address and the
# words with single spaces (tests/test_sender_fast_path.py compares them); a regex reads
# it for a fraction of what the RFC 5322 parser's tokens cost (a third of a parse).
_ATOM, _LABEL = r"[A-Za-z0-9_%+'-]+", r"[A-Za-z0-9-]+"
_ADDR = rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*"
_EW = r"=\?[uU][tT][fF]-8\?[qQbB]\?[A-Za-z0-9=_+/!*-]*\?="
_WORD = rf"(?:[\w'-]+|{_EW})"
_SIMPLE = re.compile(
    rf"(?:(?P<name>{_WORD}(?:[ \t]+{_WORD})*)[ \t]*)?<(?P<addr>{_ADDR})>|(?P<bare>{_ADDR})"
)
_NOT_TEXT = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


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
    if len(values) == 1 and (simple := _simple(values[0])) is not None:
        return simple
    return _read_sender(values)


def _simple(value: str) -> Sender | None:
    """The sender of a From of the common form (see ``_SIMPLE``); None for any other."""
    m = _SIMPLE.fullmatch(value.strip(" \t"))
    if m is None:
        return None
    if m["bare"] is not None:
        return Sender(m["bare"].lower(), "", False)
    name = m["name"] or ""
    if "=?" in name and not _clean_encoded_words(name, m.end("name") < m.start("addr") - 1):
        return None
    return Sender(m["addr"].lower(), " ".join(name.split()), False)


def _clean_encoded_words(name: str, spaced: bool) -> bool:
    """Whether the RFC 5322 parser reads the name's encoded words without a defect: each
    decodes without one to text without control characters or undecodable bytes, and
    the last is followed by a space (``spaced``) when it ends the name."""
    words = name.split()
    if words[-1].startswith("=?") and not spaced:
        return False
    for word in words:
        if word.startswith("=?"):
            try:
                text, _charset, _lang, defects = _ew.decode(word)
            except (ValueError, KeyError, LookupError):
                return False
            if defects or _NOT_TEXT.search(text):
                return False
    return True


def _read_sender(values: list[str]) -> Sender:
    """``read_sender`` by both parsers: a sender only when they agree."""
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
