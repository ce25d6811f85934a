"""Plain-text helpers for deciding a message: what the sender wrote now, and what it names.

Rules look for words and municipality names only in the *new* text of a message
(agder.md, "Precise points"): quoted lines, reply/forward blocks and, for the flow c
target, the sender's signature must not count. Everything here is pure and never raises
on odd input, because mail from the wild is odd.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from gateway.html_text import html_to_text  # noqa: F401  (re-exported)
from gateway.reading import READING, alternatives

_WS = re.compile(r"\s+")

# --- Quoted text -----------------------------------------------------------------------

_QUOTED = re.compile(r"^\s*>")
_FORWARD_PHRASE = alternatives(READING.forward)
# "-----Original Message-----", "---------- Forwarded message ---------" (Yahoo puts the
# headers on the same line), or the phrase alone on its line ("Videresendt melding:").
_FORWARD = re.compile(rf"\s*(?:-{{2,}}\s*{_FORWARD_PHRASE}\b.*|{_FORWARD_PHRASE}\s*:?\s*)", re.I)
# Outlook header block: "Fra: ..." followed within 4 lines by "Sendt: ..." ("*From:*" too).
_FROM_FIELD = re.compile(rf"\s*[*_]*{alternatives(READING.header_from)}[*_]*\s*:[*_]*\s*\S", re.I)
# The lines where _FORWARD or _FROM_FIELD can match, found in one scan of "\n" + the
# text: the start of each pattern after a line break (in a line, \s is [^\S\n]). The
# literal "\n" first lets the regex engine skip from line break to line break.
_HEADER_START = re.compile(
    rf"\n[^\S\n]*(?:-{{2,}}[^\S\n]*{_FORWARD_PHRASE}\b|{_FORWARD_PHRASE}[^\S\n]*:?[^\S\n]*(?=\n|\Z)"
    rf"|[*_]*{alternatives(READING.header_from)}[*_]*[^\S\n]*:)",
    re.I,
)
_DATE_FIELD = re.compile(rf"\s*[*_]*{alternatives(READING.header_date)}[*_]*\s*:[*_]*\s*\S", re.I)
# Attribution lines, matched against one line or up to three joined lines. Each needs a
# digit (the date) so that a sentence like "Kari skrev i loggen:" is not taken as one.
_ATTRIBUTION = [re.compile(p, re.I) for p in READING.attribution_patterns]
# Every attribution pattern needs one of these words: a line window without any cannot
# hold an attribution, and most lines of a report have none (same flags as the patterns).
_ATTRIBUTION_WORDS = READING.attribution_words
_ATTRIBUTION_WORD = re.compile("|".join(map(re.escape, _ATTRIBUTION_WORDS)), re.I)
_JOIN_START = re.compile("|".join([*READING.attribution_starts, r".*\d{1,2}[:.]\d{2}"]), re.I)
_SEPARATOR = re.compile(r"[\s_\-=*–—]*")


def _attribution_lines(lines: list[str], i: int, words: list[bool] | None = None) -> int:
    """How many lines (1-3) an attribution header starting at line i spans; 0 if none.
    ``words``: per line, whether _ATTRIBUTION_WORD occurs in it (a shortcut only)."""
    if words is not None and not any(words[i : i + 3]):
        return 0
    parts: list[str] = []
    for line in lines[i : i + 3]:
        if not line.strip() or _QUOTED.match(line):
            break
        if parts and not _JOIN_START.match(parts[0]):
            break
        if parts and parts[-1].rstrip().endswith((".", "!", "?")):
            break
        parts.append(line.strip())
        if sum(map(len, parts)) > 500:  # real headers are short; bounds regex work
            break
        joined = _WS.sub(" ", " ".join(parts))
        if any(p.fullmatch(joined) for p in _ATTRIBUTION):
            return len(parts)
    return 0


def _starts_quote(lines: list[str], i: int, words: list[bool] | None = None) -> bool:
    """Whether a reply or forward header starts at line i (``words``: see above)."""
    line = lines[i]
    if _FORWARD.fullmatch(line):
        return True
    if ":" in line and _FROM_FIELD.match(line):  # (the pattern needs the colon)
        for field_line in lines[i + 1 : i + 5]:
            if not field_line.strip():
                break
            if _DATE_FIELD.match(field_line):
                return True
    if words is not None and not any(words[i : i + 3]):
        return False  # no attribution can start here (as _attribution_lines would find)
    span = _attribution_lines(lines, i, words)
    # A wrapped match whose own tail is a header ("Am heutigen Tage\nAm So., ... schrieb")
    # starts at the later line.
    return span == 1 or (
        span > 1 and not any(_attribution_lines(lines, j, words) for j in range(i + 1, i + span))
    )


def new_text(body: str) -> str:
    """The body without quoted text: lines starting with ">" are dropped and everything
    from a reply or forward header on is cut. Text before the cut is kept as it is
    (line endings normalised to LF, byte-order marks removed, trailing blank lines and
    separator lines before a cut stripped)."""
    body = body.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    lines = body.split("\n")
    # Where an attribution word occurs at all (a substring search of the folded text is
    # far cheaper than the case-insensitive regex, which only confirms a line).
    folded = fold(body)
    words = [False] * len(lines)
    if any(w in folded for w in _ATTRIBUTION_WORDS):
        search = _ATTRIBUTION_WORD.search
        words = [search(line) is not None for line in lines]
    # A quote can start only on a line where a header pattern or an attribution can;
    # the first such line (not itself quoted) that starts one is the cut.
    text = "\n" + body  # the line break before line k is the k-th of ``text`` (from 0)
    starts = {text.count("\n", 0, m.start()) for m in _HEADER_START.finditer(text)}
    starts.update(i for j, w in enumerate(words) if w for i in range(max(0, j - 2), j + 1))
    quoted = _QUOTED.match
    cut = next(
        (i for i in sorted(starts) if not quoted(lines[i]) and _starts_quote(lines, i, words)), None
    )
    head = lines if cut is None else lines[:cut]
    kept = [line for line in head if not quoted(line)] if ">" in body else head
    while kept and (not kept[-1].strip() or (cut is not None and _SEPARATOR.fullmatch(kept[-1]))):
        kept.pop()
    return "\n".join(kept)


# --- Signature -------------------------------------------------------------------------

_CLOSING = re.compile(
    rf"\s*{alternatives(READING.closings)}(?!\w)[\s,.!:;/–-]*(.*)",
    re.I,
)
# "Kristiansand kommune", "Evje og Hornnes kommune": capitalised name, then "kommune".
_ORG_LINE = re.compile("|".join(f"(?:{p})" for p in READING.organisation_lines))


def _is_closing(line: str) -> bool:
    m = _CLOSING.fullmatch(line)
    if not m:
        return False
    rest = m.group(1).strip()
    # "Hilsen Ole Hansen" signs off; "Hilsen fra oss ..." and "Hilsen Ole kom i går." do not.
    words = len(rest.split())
    return not rest or (
        rest[0].isupper() and words <= 6 and (words <= 2 or not rest.endswith((".", "!", "?")))
    )


# "Tlf: 38 00 00 00", "Mobil +47 900 00 000", "E-post: kari@x.no", "www.x.no",
# "4604 Kristiansand": the contact lines after a signature's organisation line.
_CONTACT = re.compile(
    r"(?:[^\W\d][\w .()/-]{0,24}:?\s*)?"
    r"(?:\+?\d[\d\s().\-/]{5,}\d|\S+@\S+\.\w+|(?:https?://|www\.)\S+|\d{4}\s+\S.{0,40})",
    re.I,
)
_DISCLAIMER = re.compile(
    rf"\n(?:[ \t]*(?:[-_=*]{{2,}}[ \t]*)?\n)+[\s*_=-]*{alternatives(READING.disclaimers)}",
    re.I,
)


def without_disclaimer(text: str) -> str:
    """The text without a standard disclaimer: from the first paragraph, after the
    first, that opens like one ("Denne e-posten kan inneholde ...", "This email and any
    attachments ...") to the end. A person skips it; its words and names never count."""
    m = _DISCLAIMER.search(text)
    return text[: m.start()].rstrip() if m else text


def _is_contact(line: str) -> bool:
    return _CONTACT.fullmatch(line.strip()) is not None


def _is_signature_block(block: list[str]) -> bool:
    """2-8 short lines, none a sentence, one an organisation line ("Kristiansand
    kommune"), lines with a colon only contact lines ("Tlf: 38 00 00 00")."""
    return (
        2 <= len(block) <= 8
        and any(_ORG_LINE.fullmatch(b.strip()) for b in block)
        and all(
            len(b.strip()) <= 60
            and not b.rstrip().endswith((".", "!", "?"))
            and (":" not in b or _is_contact(b))
            for b in block
        )
    )


def _paragraph_start(lines: list[str], end: int) -> int:
    start = end
    while start > 0 and lines[start - 1].strip():
        start -= 1
    return start


def _trim(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def strip_signature(text: str) -> str:
    """The text without the sender's signature, so "Kristiansand kommune" under a
    response-centre message does not name a target.

    Cuts a standard disclaimer, then at a "-- " line or a line starting with a closing
    ("Med vennlig hilsen", "Mvh", "Hilsen Ole", "Venleg helsing", "Thanks"). Failing
    that, a last paragraph of 2-8 short lines with an organisation line in it
    ("Operatør" / "Kristiansand kommune" / "Tlf: 38 00 00 00") is taken as a signature,
    with any paragraphs of contact lines alone after it.
    """
    text = without_disclaimer(text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line in ("--", "-- ") or _is_closing(line):
            lines = lines[:i]
            break
    end = len(_trim(lines))
    start = _paragraph_start(lines, end)
    while start > 0 and all(_is_contact(b) for b in lines[start:end]):
        end = len(_trim(lines[:start]))  # a paragraph of phone lines: look above it
        start = _paragraph_start(lines, end)
    if _is_signature_block(lines[start:end]):
        lines = _trim(lines[:start])
    return "\n".join(lines)


# --- Words and municipalities -----------------------------------------------------------

NEVER = re.compile(r"(?!x)x")  # a pattern that never matches


def _phrase(word: str) -> str:
    """A regex for one word or phrase; whitespace in it matches any run of whitespace."""
    return r"\s+".join(re.escape(p) for p in unicodedata.normalize("NFC", word).split())


def _first_chars(words: Iterable[str]) -> str:
    """A look-ahead for the first characters of the words: the regex engine tries every
    position, and this rejects most of them before the alternatives are tried one by one
    (the same matches: each alternative starts with one of these, in the same case
    folding)."""
    firsts = {unicodedata.normalize("NFC", w).split()[0][0] for w in words if w.strip()}
    return "(?=[" + "".join(re.escape(c) for c in sorted(firsts)) + "])"


# The first word of each entry of a word pattern, case-folded: a text that contains none
# of them (as a substring of its folded form) cannot match, and finding that out with
# str's substring search is some fifty times cheaper than the regex's scan of the text.
_NEEDLES: dict[re.Pattern[str], tuple[str, ...]] = {}


@lru_cache(maxsize=256)
def _word_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alts = sorted({_phrase(w) for w in words if w.strip()}, key=len, reverse=True)
    if not alts:
        return NEVER
    pattern = re.compile(_first_chars(words) + r"(?<!\w)(?:" + "|".join(alts) + r")(?!\w)", re.I)
    _NEEDLES[pattern] = tuple(
        sorted({fold(unicodedata.normalize("NFC", w).split()[0]) for w in words if w.strip()})
    )
    return pattern


def word_pattern(words: Iterable[str]) -> re.Pattern[str]:
    """One pattern matching any of the words as a whole word in any letter case
    ("HASTER:" matches "haster"); empty input never matches."""
    return _word_pattern(tuple(words))


def negation_pattern(words: Iterable[str]) -> re.Pattern[str]:
    """A pattern that matches the end of the text before a word when a negation
    ("ikke", "not") stands just before it: directly ("not urgent", "ikke-kritisk") or
    with one word between ("ikke veldig akutt"), in the same clause (a comma,
    full stop or dash between ends the negation). Empty input never matches."""
    alts = sorted({_phrase(w) for w in words if w.strip()}, key=len, reverse=True)
    if not alts:
        return NEVER
    return re.compile(r"(?<!\w)(?:" + "|".join(alts) + r")(?:\s+\w[\w'’]*)?(?:\s+|-)\Z", re.I)


def find_word(pattern: re.Pattern[str], text: str, negation: re.Pattern[str] = NEVER) -> bool:
    """Whether ``pattern`` (a word pattern) matches in ``text`` where no negation
    stands just before the match: "ikke kritisk" is not urgent, a person would not
    count it (see ``negation_pattern``)."""
    for m in pattern.finditer(text):
        if negation is NEVER or not negation.search(text, max(0, m.start() - 120), m.start()):
            return True
    return False


def fold(text: str) -> str:
    """``text`` case-folded for ``may_match``. The regex engine's IGNORECASE pairs
    "İ" and "ı" with "i", where casefold() gives "i" and a combining dot, and "ı": both
    mapped first, so that a word the regex would find is never missed by the shortcut
    (the only such letters: every pair of characters was compared)."""
    return text.replace("\u0130", "i").replace("\u0131", "i").casefold()


def may_match(pattern: re.Pattern[str], folded: str) -> bool:
    """False only when ``pattern``, a word pattern, cannot match the text whose ``fold``
    is ``folded``; always True for other patterns."""
    needles = _NEEDLES.get(pattern)
    return needles is None or any(n in folded for n in needles)


@lru_cache(maxsize=64)
def literal_start(pattern: re.Pattern[str]) -> str | None:
    """The text every match of ``pattern`` begins with (after anchors such as \\b), as
    ``fold`` gives it, for a substring search before the regex; None when the pattern
    starts with no literal of two characters or more (a class, a group, alternatives)."""
    chars: list[str] = []
    try:  # re's own parser, an internal module: if it changes, just no shortcut
        at, literal = re._constants.AT, re._constants.LITERAL  # type: ignore[attr-defined]
        for op, value in re._parser.parse(pattern.pattern, pattern.flags):  # type: ignore[attr-defined]
            if op is at and not chars:
                continue
            if op is not literal:
                break
            chars.append(chr(value))
    except Exception:
        return None
    return fold("".join(chars)) if len(chars) >= 2 else None


@lru_cache(maxsize=32)
def _municipality_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    order = sorted(range(len(names)), key=lambda i: len(names[i]), reverse=True)
    alts = [f"(?P<n{i}>{_phrase(names[i])})" for i in order if names[i].strip()]
    if not alts:
        return NEVER
    return re.compile(_first_chars(names) + r"(?<!\w)(?:" + "|".join(alts) + r")(?!\w)", re.I)


_STREET = re.compile(rf"\s+{alternatives(READING.street_words)}\s+\d", re.I)
_TOKEN_START = re.compile(r"\S*")
_FILE_OR_DOMAIN = re.compile(r".*\w\.(?=\d*[A-Za-z])[A-Za-z0-9]{2,5}")  # not "Lindesnes,12.03"
_URL = re.compile(r"(?:[a-z][a-z0-9+.-]*://|www\.)|[\w-]+(?:\.[\w-]+)+/", re.I)


def _is_name_use(text: str, start: int, end: int) -> bool:
    """False when the match is part of an address, URL, domain, file name or street."""
    # The surrounding token, bounded so that junk without spaces stays cheap.
    head = text[max(0, start - 200) : start]
    before = head.rsplit(None, 1)[-1] if head[-1:].strip() else ""
    after = _TOKEN_START.match(text, end, end + 200).group()
    token = (before + text[start:end] + after).strip("()[]{}<>\"'«»,;:!?")
    if "@" in token or before.endswith(".") or (after[:1] == "." and after[1:2].isalnum()):
        return False
    if _URL.search(token) or _FILE_OR_DOMAIN.fullmatch(token.rstrip(".")):
        return False
    return not _STREET.match(text, end)


def find_municipalities(
    text: str, names: Iterable[str], not_targets: Iterable[str] = ()
) -> list[str]:
    """The municipalities the text names, as given in names, in order of first mention.

    A name counts only as a whole word in running text: not inside an e-mail address,
    URL, domain, file name or street address ("Arendal gate 5"), nor inside one of
    ``not_targets``, names of places that serve several ("Sykehuset i Arendal").
    """
    names = tuple(names)
    text = unicodedata.normalize("NFC", text)
    others = word_pattern(not_targets)
    if others is not NEVER and may_match(others, fold(text)):
        text = others.sub(lambda m: " " * len(m.group()), text)
    found: list[str] = []
    for m in _municipality_pattern(names).finditer(text):
        name = names[int(m.lastgroup[1:])]
        if name not in found and _is_name_use(text, m.start(), m.end()):
            found.append(name)
    return found
