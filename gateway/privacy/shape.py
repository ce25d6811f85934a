"""What a text can hold at all, from one look at its bytes at C speed.

Most text the privacy scans read holds no number a detector could find, and nothing that
normalise() would change but a dash: a report's body of log lines and dates, the relay
the gateway wrote around it. The patterns find that out position by position (a pattern
that starts with a digit or a space stops at every one of them), about 100 ns a
character for each of the seven searches. Here one encode and one translate map the
text to a class per byte (a digit, a space, a dot, the last letter of a label, ...),
and a few searches for fixed bytes answer "can anything match here" for all of them.

Every answer is on the safe side: "no" only when the pattern cannot match (a pattern's
look-arounds only ever refuse a match, so the bytes it consumes are what is looked for).
That holds for text whose characters outside ASCII are none a pattern reads: no other
digits or spaces, no invisible characters, no compatibility forms, no letters that match
ASCII ones ignoring case. Other text gets no answer (``scan`` or ``normal`` False) and
takes the full searches. tests/test_privacy_shape.py holds every answer to the patterns.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

# Invisible characters a client shows as nothing: soft hyphen, zero-width space/(non-)
# joiner, word joiner, byte-order mark, Mongolian vowel separator, combining grapheme joiner.
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e\u034f"
# Every dash a client draws like "-" (NFKC leaves most of them as they are).
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
# The last letters of normalise's glued labels ("fnr", "tlf", "mob", "fax", "faks", ...).
LABEL_ENDS = "rflbxns"


def _table(*classes: tuple[bytes, bytes]) -> bytes:
    """A translate table: each byte of the given sets to its class, ASCII's other bytes
    to "_", the bytes of characters outside ASCII to "x"."""
    table = bytearray(b"_" * 128 + b"x" * 128)
    for chars, cls in classes:
        for byte in chars:
            table[byte] = cls[0]
    return bytes(table)


_DIGITS = (b"0123456789", b"0")
# What normalise's patterns read: a digit, a space or tab, "-" or ".", LF, CR.
_SPACING = _table(_DIGITS, (b" \t", b" "), (b"-.", b"-"), (b"\n", b"n"), (b"\r", b"c"))
# A label's last letter and a digit; the ".", ":" or "#" after a label are deleted.
_LABELLING = _table(_DIGITS, ((LABEL_ENDS + LABEL_ENDS.upper()).encode(), b"L"))
_LABEL_MARKS = b".:#"
# What the detectors' numbers are made of: a digit, and a space, "-" or "." between groups.
_NUMBERS = _table(_DIGITS, (b" -.", b"s"))
_ASCII = bytes(range(128))
# Each is what one of normalise's patterns consumes, where it changes the text: a run
# of spaces (or a line break after a space) between digits, and a dot or dash between
# digits with spaces or soft breaks beside it (a dash as "-": see ``shape``). Each
# starts with two or three fixed bytes, which the regex engine looks for at C speed.
_SPACED = (
    re.compile(rb"0 (?: +0| *c?n *0| *(?:c?n *)?- *(?:c?n *)?0)"),
    re.compile(rb"0- (?: *c?n)? *0"),
)
# detect._NUMBER_CANDIDATE, the number in every phone match, in three forms; an
# identity number starts with six digits.
_PHONE_NUMBERS = (b"00000000", b"000s00s000", b"00s00s00s00")
_MAX_DISTINCT = 64  # more characters outside ASCII than this: no answer

_INERT, _DASH, _CHANGES, _SCANNED = range(4)
_ASCII_LETTER = re.compile("[a-z]", re.IGNORECASE)  # also matches "\u0131", "\u212a", ...
_DIGIT_OR_SPACE = re.compile(r"[\d\s]")


@functools.lru_cache(maxsize=1024)
def _role(char: str) -> int:
    """What a character outside ASCII is to the patterns: read by the detectors (a digit
    or a space), changed or read by normalise, a dash, or nothing to either (inert)."""
    if _DIGIT_OR_SPACE.match(char):
        return _SCANNED
    if char in DASHES:
        return _DASH
    if char in INVISIBLE or _ASCII_LETTER.match(char):
        return _CHANGES
    return _INERT if unicodedata.normalize("NFKC", char) == char else _CHANGES


@dataclass(frozen=True)
class Shape:
    """What a text can hold. Each False only when the patterns cannot match."""

    normal: bool = False  # normalise() changes nothing but dashes, each to "-"
    dashes: bool = True  # False: the text has no dashes
    ids: bool = True  # an identity number may match
    phones: bool = True  # a phone number may match

    def may_hold_id(self) -> bool:
        return self.ids

    def may_hold_phone(self) -> bool:
        return self.phones


def shape(text: str) -> Shape:
    """The shape of `text`: an encode, a few translates, searches for fixed bytes."""
    raw = text.encode("utf-8", "surrogatepass")
    roles = _INERT
    if not text.isascii():
        wide = set(raw.translate(None, _ASCII).decode("utf-8", "surrogatepass"))
        if len(wide) > _MAX_DISTINCT:
            return Shape()
        roles = max(map(_role, wide), default=_INERT)
        if roles == _SCANNED:
            return Shape()
        for dash in wide.intersection(DASHES):  # read as "-", as normalise() does
            raw = raw.replace(dash.encode(), b"-")
    numbers = raw.translate(_NUMBERS)
    entities = b"&" in raw and (b"&nbsp;" in raw or b"&#160;" in raw)  # spaces too
    phones = entities or any(form in numbers for form in _PHONE_NUMBERS)
    normal = roles <= _DASH and _as_written(raw)
    return Shape(normal, roles == _DASH, b"000000" in numbers, phones)


def _as_written(raw: bytes) -> bool:
    """True when no pattern of normalise() but the dashes' can match in `raw`."""
    if b"L0" in raw.translate(_LABELLING, _LABEL_MARKS):
        return False
    spacing = raw.translate(_SPACING)
    return not any(pattern.search(spacing) for pattern in _SPACED)
