"""The fast forms of the privacy scans read exactly what their plain forms read.

normalise() searches its four patterns one by one, each from where it can first match,
leaves bare date separators out and keeps its map as segments; the phone and e-mail
scans start only where a match can start. Each is held here to a plain form, written
the obvious way (one joined pattern, a map entry per character, ``finditer`` over the
whole text), on random texts made of the pieces that matter to them.
"""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.privacy import detect, normalise
from gateway.privacy.normalise import _DASHES, _GLUED, _INVISIBLE, _RUN, _SEP_RUN, _char

_PLAIN = re.compile(rf"{_SEP_RUN.pattern}|[^\x00-\x7f]|{_RUN.pattern}|{_GLUED.pattern}", re.I)
_PLAIN_NFKC = re.compile(
    rf"{_SEP_RUN.pattern}|[{_INVISIBLE}{_DASHES}]|{_RUN.pattern}|{_GLUED.pattern}", re.I
)


def plain_normalise(text: str, joined: bool = False) -> tuple[str, list[int]]:
    """The normal form and, per character, the position it came from (the plain form)."""
    special = _PLAIN_NFKC if unicodedata.is_normalized("NFKC", text) else _PLAIN
    out: list[str] = []
    origin: list[int] = []
    pos = 0
    for m in special.finditer(text):
        out.append(text[pos : m.start()])
        origin.extend(range(pos, m.start()))
        piece = m.group()
        if len(piece) > 1 and _SEP_RUN.match(text, m.start()):  # a dash or dot, spaced
            sep = piece.strip(" \t\r\n")
            read = re.sub(r"[ \t]*\r?\n[ \t]*", "" if joined else " ", piece)
            read = read.replace(sep, _char(sep))
            read = read if read.count(" ") + read.count("\t") < 2 else _char(sep)
            out.append(read)
            at = m.start() + piece.index(sep)
            origin.extend(range(m.start(), m.end()) if read == piece else [at] * len(read))
        elif _GLUED.fullmatch(piece):
            out.append(piece + " ")
            origin.extend([*range(m.start(), m.end()), m.end() - 1])
        elif len(piece) > 1 or piece in " \t":
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
    return "".join(out), origin


PIECES = [
    "0", "1", "4", "9", "12", "2026", " ", "  ", "\t", "\n", " \n", "\r\n", "-", ".", ":", "#",
    "_", "a", "k", "K", "\u212a", "\u017f", "æ", "ø", "fnr", "Tlf:", "tlf.", "mob", "FAKS",
    "samordningsnr", "pers. nr", "d-nr", "Telefonnr", "\u00ad", "\u200b", "\u2013", "\u2212",
    "\u00a0", "\uff11", "\u00bd", "\ufb01", "@", "kari@x.no", "%", "+47", "0047", "(", ")",
    "&nbsp;", "41234567", "412 34 567", "41 23 45 67", "\u0663",
]  # fmt: skip
texts = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


@settings(max_examples=600, deadline=None)
@given(texts, st.booleans())
def test_normalise_gives_the_plain_forms_text_and_spans(text, joined):
    plain, origin = plain_normalise(text, joined)
    fast = normalise.normalise(text, joined=joined)
    assert fast.text == plain
    assert (fast.origin is None) == (plain == text and origin == list(range(len(text))))
    for start in range(len(plain)):
        for end in range(start + 1, min(len(plain), start + 12) + 1):
            assert fast.span(start, end) == (origin[start], origin[end - 1] + 1)


@settings(max_examples=600, deadline=None)
@given(texts)
def test_phone_and_email_scans_start_where_a_match_can_and_miss_none(text):
    assert [m.span() for m in detect._phone_matches(text)] == [
        m.span() for m in detect._PHONE.finditer(text)
    ]
    assert [m.span() for m in detect._email_matches(text)] == [
        m.span() for m in detect._EMAIL.finditer(text)
    ]


@settings(max_examples=300, deadline=None)
@given(texts)
def test_line_joins_are_the_runs_with_a_line_break(text):
    plain = any("\n" in m.group() for m in _RUN.finditer(text))
    assert normalise.has_line_joins(text) == plain


def test_a_long_report_with_dates_is_its_own_normal_form():
    """The case the shortcuts are for: a log of dates and times needs no map at all."""
    text = "\n".join(f"2{i % 10}.03.2026 kl. 06:0{i % 10} - enhet 7394{i % 10}" for i in range(300))
    assert normalise.normalise(text).origin is None
    assert detect.find_personal_data(text) == []
