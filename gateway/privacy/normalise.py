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

import bisect
import codecs
import email.header
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from gateway.privacy.shape import DASHES, INVISIBLE, Shape, shape

_INVISIBLE = INVISIBLE  # characters a client shows as nothing (see shape.py)
_DASHES = DASHES  # every dash a client draws like "-"
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
# alone. A soft break beside it (a space ending the line) is a space, as in _RUN:
# "151086 \r\n- 95088" reads "151086 - 95088". A line break alone beside it is a hard
# break, as in "Se punkt 4.", and joins nothing.
_SOFT = r"(?:[ \t]+\r?\n)?[ \t]*"  # spaces, or a soft break and the next line's spaces
_SEP_RUN = re.compile(rf"(?<=\d){_SOFT}[-.{_DASHES}]{_SOFT}(?=\d)")
# A match of _SEP_SEARCH (the same, found faster) told from the others by its contents:
# only it holds a dash or a dot with nothing but spaces and line breaks. (_SEP_RUN's
# look-behind cannot match the piece alone: "1 - 2" was read as "1 2".)
_SEP_PIECE = re.compile(rf"[ \t\r\n]*[-.{_DASHES}][ \t\r\n]*")
_BREAK = re.compile(r"[ \t]*\r?\n[ \t]*")
_Need = tuple[re.Pattern[str], int]
_Alternatives = tuple[tuple[re.Pattern[str], _Need | None], ...]

# What needs a look at all; text without any of these is its own normal form. Each is
# searched on its own (see ``_matches``), and each starts with the characters it can
# start with, so that the search skips to them at C speed; a look-behind first made the
# search try every position. A bare "-" or "." between two digits (every date) is its
# own normal form, so the search for separators leaves it out: the loop below would
# have kept it as it is.
_SEP_SEARCH = (
    rf"[ \t\-.{_DASHES}](?<=\d.)"
    rf"(?:(?<=[ \t])[ \t]*(?:\r?\n[ \t]*)?[-.{_DASHES}]{_SOFT}"
    rf"|(?<=[-.{_DASHES}])[ \t]+(?:\r?\n[ \t]*)?|(?<=[{_DASHES}]))(?=\d)"
)
_RUN_SEARCH = r"[ \t](?<=\d.)(?:[ \t]*\r?\n[ \t]*|[ \t]+)(?=\d)"
_GLUED_SEARCH = rf"(?=[fpdstm])(?<![^\W_])(?:{_LABELS})[.:#]?(?=\d)"
# Before some of them, a cheaper pattern that every match needs near it: (pattern,
# at most how far before it the match can start). A text without it skips that search,
# and the search starts there. A glued label ends in one of these letters before its
# digit; a run of spaces between digits starts after a digit.
_GLUED_NEED = (re.compile(r"[rflbxns][.:#]?\d", re.I), 16)
_RUN_NEED = (re.compile(r"\d(?:[ \t]{2}|[ \t]+\r?\n)"), 0)
_SPECIAL = tuple(
    (re.compile(p, re.I), need)
    for p, need in (
        (_SEP_SEARCH, None), (r"[^\x00-\x7f]", None), (_RUN_SEARCH, _RUN_NEED),
        (_GLUED_SEARCH, _GLUED_NEED),
    )
)  # fmt: skip
# The same for text already in NFKC: of its letters only the invisible ones and the
# dashes change, so æ, ø, å and the like need no look one by one (a Norwegian text has
# dozens; checking them one at a time was most of the de-identification's time).
_SPECIAL_NFKC = (_SPECIAL[0], (re.compile(f"[{_INVISIBLE}{_DASHES}]"), None), *_SPECIAL[2:])


def _matches(alternatives: _Alternatives, text: str) -> Iterator[re.Match[str]]:
    """The matches of the alternatives joined by "|", as ``finditer`` would give them:
    leftmost first, the earlier alternative on a tie, the next search after the end.
    Searched one by one, each pattern skips to its first character at C speed, where the
    joined pattern tried every alternative at every position of the text."""
    patterns = [p for p, _ in alternatives]
    found = [_first(p, need, text) for p, need in alternatives]
    pos = 0
    while True:
        best = None
        for i, m in enumerate(found):
            if m is not None and m.start() < pos:
                m = found[i] = patterns[i].search(text, pos)
            if m is not None and (best is None or m.start() < best.start()):
                best = m
        if best is None:
            return
        yield best
        pos = best.end()


def _first(pattern: re.Pattern[str], need: _Need | None, text: str) -> re.Match[str] | None:
    """The first match of ``pattern``, searched from where ``need`` says it can start."""
    if need is None:
        return pattern.search(text)
    near = need[0].search(text)
    return None if near is None else pattern.search(text, max(0, near.start() - need[1]))


@dataclass(frozen=True)
class Normalised:
    """The normal form and where each of its characters came from.

    ``origin`` holds the map as segments, in order: (start in the normal form, start in
    the text as written, linear). In a linear segment each character came from its own
    character, one for one; in the others every character stands for the one character
    at that start (a dash, an NFKC expansion, the space for a run of spaces). A map per
    character was a tuple as long as the text, built for every text with a date in it.
    """

    text: str
    origin: tuple[tuple[int, int, bool], ...] | None  # None: its own normal form

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span in the text as written that the normal form's [start, end) came from."""
        if self.origin is None:
            return start, end
        return self._at(start), self._at(end - 1) + 1

    def _at(self, i: int) -> int:
        seg = self.origin[bisect.bisect_right(self.origin, (i, _LAST)) - 1]
        return seg[1] + (i - seg[0]) if seg[2] else seg[1]


_LAST = 1 << 62  # sorts after every real position in a (start, origin) search key


class _Map:
    """The normal form being written, and its map (see ``Normalised``)."""

    def __init__(self, text: str) -> None:
        self.text, self.out, self.n, self.changed = text, [], 0, False
        self.segs: list[tuple[int, int, bool]] = []

    def keep(self, a: int, b: int) -> None:
        """text[a:b] as written."""
        if a >= b:
            return
        self.out.append(self.text[a:b])
        last = self.segs[-1] if self.segs else None
        if not (last and last[2] and last[1] + (self.n - last[0]) == a):
            self.segs.append((self.n, a, True))
        self.n += b - a

    def put(self, piece: str, at: int, a: int, b: int) -> None:
        """``piece`` in place of text[a:b], standing for the character at ``at``."""
        if piece == self.text[a:b]:
            return self.keep(a, b)
        self.changed = True
        if piece:
            self.out.append(piece)
            self.segs.append((self.n, at, len(piece) == 1))
            self.n += len(piece)

    def result(self) -> Normalised:
        if not self.changed:
            return Normalised(self.text, None)  # nothing changed after all
        return Normalised("".join(self.out), tuple(self.segs))


def _char(c: str) -> str:
    """One character's normal form: invisible ones go, dashes become '-'."""
    if c in _INVISIBLE:
        return ""
    if c in _DASHES:
        return "-"
    return unicodedata.normalize("NFKC", c)


def normalise(text: str, *, joined: bool = False, seen: Shape | None = None) -> Normalised:
    """The text a reader sees. `joined`: a line break between digits joins them with
    nothing between (format=flowed with DelSp=yes) instead of with one space. `seen`:
    the text's shape, when the caller has it (see shape.py)."""
    seen = seen or shape(text)
    if seen.normal:  # nothing to change but dashes: no search needed
        return _dashes(text) if seen.dashes else Normalised(text, None)
    return _searched(text, joined)


def _searched(text: str, joined: bool) -> Normalised:
    """normalise() by searching the text for everything that changes (see _SPECIAL)."""
    special = _SPECIAL_NFKC if unicodedata.is_normalized("NFKC", text) else _SPECIAL
    out = _Map(text)
    pos = 0
    for m in _matches(special, text):
        out.keep(pos, m.start())
        piece, at = m.group(), m.start()
        if len(piece) > 1 and _SEP_PIECE.fullmatch(piece):
            sep = piece.strip(" \t\r\n")
            out.put(_separator(piece, sep, joined), at + piece.index(sep), at, m.end())
        elif _GLUED.fullmatch(piece):
            out.keep(at, m.end())
            out.put(" ", m.end() - 1, m.end(), m.end())
        elif len(piece) > 1 or piece in " \t":  # a run of spaces between digits
            out.put("" if joined and "\n" in piece else " ", at, at, m.end())
        else:
            out.put(_char(piece), at, at, m.end())
        pos = m.end()
    out.keep(pos, len(text))
    return out.result()


def _separator(piece: str, sep: str, joined: bool) -> str:
    """A dash or dot between digit groups, with the spaces and soft breaks around it, as
    read: a soft break is a space (nothing with DelSp), the dash a "-"; with one space a
    side at most the patterns read it so, with more as the dash or dot alone."""
    read = _BREAK.sub("" if joined else " ", piece).replace(sep, _char(sep))
    return read if read.count(" ") + read.count("\t") < 2 else _char(sep)


_DASH = re.compile(f"[{_DASHES}]")


def _dashes(text: str) -> Normalised:
    """`text` with each dash read as "-": what normalise() makes of a text whose shape
    says that nothing else changes (the same map, made the same way)."""
    out = _Map(text)
    pos = 0
    for m in _DASH.finditer(text):
        out.keep(pos, m.start())
        out.put("-", m.start(), m.start(), m.end())
        pos = m.end()
    out.keep(pos, len(text))
    return out.result()


def has_line_joins(text: str) -> bool:
    """True when a soft break stands between digits (a dash or dot beside it or not):
    the text then has two readings."""
    return _LINE_JOIN.search(text) is not None


# A run of _RUN's with a line break in it (starting with its character, as _RUN_SEARCH),
# or a soft break beside a dash or dot between digits: "400 \r\n-00-000" with DelSp
# reads "400-00-000", one separator all through, which a phone number needs.
_LINE_JOIN = re.compile(
    rf"[ \t](?<=\d.)[ \t]*(?:[-.{_DASHES}][ \t]*(?<=[ \t])\r?\n[ \t]*"
    rf"|\r?\n[ \t]*(?:[-.{_DASHES}][ \t]*)?)(?=\d)|[-.{_DASHES}](?<=\d.)[ \t]+\r?\n[ \t]*(?=\d)"
)


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
