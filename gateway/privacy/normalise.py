"""Text as a reader sees it, for the detector: with a map back to the text as written.

A number leaks when the detector reads two groups where the receiver reads one. Mail
clients and the renderer join what the raw text keeps apart: a folded subject is one
line, a format=flowed soft break is no break, a soft hyphen and a zero-width space are
invisible, a full-width digit is a digit, a no-break space a space. So the detector
scans this normalised text, and each finding is mapped back to its span in the text as
written, which is what the redactor replaces.

Labels glued to a number ("fnr01018012345", "Tlf.41234567") get a space after them, so
the patterns' "stands alone" look-behinds see a number and not part of a word.
"""

from __future__ import annotations

import codecs
import email.header
import re
import unicodedata
from dataclasses import dataclass

# Invisible characters a client shows as nothing: soft hyphen, zero-width space/(non-)
# joiner, word joiner, byte-order mark, Mongolian vowel separator, combining grapheme joiner.
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e\u034f"
# Every dash a client draws like "-" (NFKC leaves most of them as they are).
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
# Labels that are glued to the number they name. ASCII forms only: the words with
# letters outside ASCII are covered by their abbreviations.
_LABELS = (
    r"f\.?\s?nr|fnr|fodselsnr|p\.?\s?nr|pnr|personnr|pers\.?\s?nr|d-?nr|d\.nr|dnr|snr|"
    r"samordningsnr|tlf|tel|telnr|mob|mobnr|mobil|mobilnr|telefon|telefonnr|fax|faks"
)
_GLUED = re.compile(rf"(?<![^\W_])(?:{_LABELS})[.:#]?(?=\d)", re.I)
# What a renderer or client turns into one space between two digits: runs of spaces (a
# folded header, whose CR and LF the parser turned into spaces, is one), a format=flowed
# soft break (a space at the end of a line). A line break alone is a hard break, and a
# line that starts with a space starts a new line in a body as a client shows it.
_RUN = re.compile(r"(?<=\d)(?:[ \t]+\r?\n[ \t]*|[ \t]{2,})(?=\d)")
# A dash or dot between digit groups with more space around it than one a side (a
# folded subject: the parser makes the fold's CR and LF spaces): read as the dash or dot
# alone. A line break beside it is a hard break, as in "Se punkt 4.", and joins nothing.
_SEP_RUN = re.compile(rf"(?<=\d)[ \t]*[-.{_DASHES}][ \t]*(?=\d)")
# What needs a look at all; text without any of these is its own normal form.
_SPECIAL = re.compile(rf"{_SEP_RUN.pattern}|[^\x00-\x7f]|{_RUN.pattern}|{_GLUED.pattern}", re.I)
# The same for text already in NFKC: of its letters only the invisible ones and the
# dashes change, so æ, ø, å and the like need no look one by one (a Norwegian text has
# dozens; checking them one at a time was most of the de-identification's time).
_SPECIAL_NFKC = re.compile(
    rf"{_SEP_RUN.pattern}|[{_INVISIBLE}{_DASHES}]|{_RUN.pattern}|{_GLUED.pattern}", re.I
)


@dataclass(frozen=True)
class Normalised:
    """The normal form and, for each of its characters, where it came from."""

    text: str
    origin: tuple[int, ...] | None  # None: the text as written is its own normal form

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span in the text as written that the normal form's [start, end) came from."""
        if self.origin is None:
            return start, end
        return self.origin[start], self.origin[end - 1] + 1


def _char(c: str) -> str:
    """One character's normal form: invisible ones go, dashes become '-'."""
    if c in _INVISIBLE:
        return ""
    if c in _DASHES:
        return "-"
    return unicodedata.normalize("NFKC", c)


def normalise(text: str, *, joined: bool = False) -> Normalised:
    """The text a reader sees. `joined`: a line break between digits joins them with
    nothing between (format=flowed with DelSp=yes) instead of with one space."""
    special = _SPECIAL_NFKC if unicodedata.is_normalized("NFKC", text) else _SPECIAL
    if not special.search(text):
        return Normalised(text, None)
    out: list[str] = []
    origin: list[int] = []
    pos = 0
    for m in special.finditer(text):
        out.append(text[pos : m.start()])
        origin.extend(range(pos, m.start()))
        piece = m.group()
        if len(piece) > 1 and _SEP_RUN.fullmatch(piece) and piece.strip() not in ("", piece):
            if piece.count(" ") + piece.count("\t") < 2 and "\n" not in piece:
                out.append(piece)  # one space a side at most: the patterns read it
                origin.extend(range(m.start(), m.end()))
            else:
                out.append(_char(piece.strip()))
                origin.append(m.start() + piece.index(piece.strip()))
        elif _GLUED.fullmatch(piece):
            out.append(piece + " ")
            origin.extend([*range(m.start(), m.end()), m.end() - 1])
        elif len(piece) > 1 or piece in " \t":  # a run of spaces between digits
            sep = "" if joined and "\n" in piece else " "
            out.append(sep)
            origin.extend([m.start()] * len(sep))
        else:
            mapped = _char(piece)
            out.append(mapped)
            origin.extend([m.start()] * len(mapped))
        pos = m.end()
    out.append(text[pos:])
    origin.extend(range(pos, len(text)))
    return Normalised("".join(out), tuple(origin))


def has_line_joins(text: str) -> bool:
    """True when a line break stands between digits: the text then has two readings."""
    return any("\n" in m.group() for m in _RUN.finditer(text))


def decoded_words(value: str) -> str:
    """`value` with its RFC 2047 encoded words decoded, wherever they stand: Outlook and
    Gmail put them in quoted file names too, which RFC 2231 decoding leaves alone but
    every client shows decoded. A word in an unknown charset is read as Latin-1, so its
    digits still show."""
    if "=?" not in value:
        return value
    try:
        parts = email.header.decode_header(value)
    except Exception:  # the stdlib raises on some broken words: keep them as written
        return value
    out = []
    for piece, charset in parts:
        if isinstance(piece, bytes):
            piece = piece.decode(charset if _known(charset) else "latin-1", errors="replace")
        out.append(piece)
    return "".join(out)


def _known(charset: str | None) -> bool:
    try:
        codecs.lookup(charset or "")
    except LookupError:
        return False
    return True
