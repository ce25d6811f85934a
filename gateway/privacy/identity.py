"""Who a confidential reporter is, as words to find in a text: their address, its parts,
their name and its parts.

A receiver must not learn who reported (``#konfidensiell``): not from the address, not
from a signature "Kari" or "K. Nordmann", not from a file name "rapport_nordmann.pdf".
The words are matched whole (letters and digits around them block a match, so "Ola"
does not hide "Kolasjon"), in any letter case, longest first, so the address goes
before its local part and the whole name before its parts. confidential.py replaces
them with a marker; outgoing.py refuses a message that still holds one (fail closed).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_PIECES = re.compile(r"[^\W\d_]{2,}")  # the letters of a name or a local part, 2 or more
_MIN_WORD = 2  # one letter is an initial: it names nobody


@dataclass(frozen=True)
class Identity:
    """The words that name one reporter (lower case, longest first)."""

    words: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.words)

    def pattern(self) -> re.Pattern[str] | None:
        """One pattern for every word, whole words only; None without words."""
        if not self.words:
            return None
        alternatives = "|".join(re.escape(w) for w in self.words)
        return re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])", re.IGNORECASE)


def identity(addresses: Iterable[str], names: Iterable[str] = ()) -> Identity:
    """The words of the given addresses and display names: each whole, the local part
    of an address, and the runs of letters in a local part or a name."""
    words: set[str] = set()
    for address in addresses:
        address = _plain(address)
        if not address:
            continue
        words.add(address)
        local, _, domain = address.partition("@")
        words.add(local)  # its pieces, but not the organisation's name ("nav.x@nav.no")
        words.update(set(_PIECES.findall(local)) - set(_PIECES.findall(domain)))
    for name in names:
        name = _plain(name)
        if not name:
            continue
        words.add(name)
        words.update(_PIECES.findall(name))
    kept = (w for w in words if len(w) >= _MIN_WORD)
    return Identity(tuple(sorted(kept, key=lambda w: (-len(w), w))))


def _plain(text: str | None) -> str:
    """Lower case, composed (NFC) and with single spaces, as the texts are searched."""
    return unicodedata.normalize("NFC", " ".join((text or "").split())).lower()


def conceal(text: str, who: Identity, marker: str) -> str:
    """`text` with every word of `who` replaced by `marker`."""
    pattern = who.pattern()
    if pattern is None or not text:
        return text
    return pattern.sub(marker, unicodedata.normalize("NFC", text))


def named(text: str, who: Identity) -> bool:
    """True when `text` holds a word of `who`."""
    pattern = who.pattern()
    return bool(pattern and text and pattern.search(unicodedata.normalize("NFC", text)))
