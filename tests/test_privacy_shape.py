"""A text's shape (gateway/privacy/shape.py) lets the privacy scans skip searches; it
must never skip one that finds something. Each answer is held here to the patterns it
stands for, and find_personal_data to a plain form that runs every search, on random
texts made of the pieces that matter to them (and on any text at all)."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.privacy import detect, normalise
from gateway.privacy.shape import DASHES, LABEL_ENDS, shape

PIECES = [
    "0", "1", "4", "9", "12", "2026", "123456", " ", "  ", "\t", "\n", " \n", "\r\n", "\r",
    "-", ".", ":", "#", "_", "a", "r", "n", "s", "x", "k", "K", "\u212a", "\u017f", "\u0131",
    "\u0130", "æ", "ø", "å", "Å", "é", "e\u0301", "\u0301", "€", "“", "\U0001f600",
    "\udc80", "fnr", "Tlf:", "tlf.", "mob", "FAKS", "faks", "samordningsnr", "pers. nr",
    "d-nr", "Telefonnr", "\u00ad", "\u200b", "\ufeff", "\u2013", "\u2212", "\uff0d",
    "\u00a0", "\u202f", "\x85", "\u2028", "\uff11", "\u00b2", "\u00bd", "\ufb01", "\u0663",
    "@", "kari@x.no", "%", "+47 ", "0047", "(", ")", "&nbsp;", "&#160;", "&", "41234567",
    "412 34 567", "412.34.567", "41 23 45 67", "41-23-45-67", "01018012345",
    "010180 12345", "412&nbsp;34&nbsp;567", "41&#160;23&#160;45&#160;67", "811218-9876",
    "19811218-9876", "55021712345", "15076500565",
]  # fmt: skip
texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
# Mostly inert text around a few pieces: the shape that skips the searches.
PROSE = st.sampled_from(["Hei ", "loggpost ", "kl. ", "på ", "enhet ", "\r\n", "Ærlig "])
mostly_inert = st.lists(st.one_of(PROSE, st.sampled_from(PIECES)), max_size=40).map("".join)
# Few pieces, so that every digit meets every separator often.
DENSE = ["4", "12", "412", " ", "  ", "\t", "-", ".", "\u2013", "\n", "\r\n", "&nbsp;", "r",
         ":", "æ"]  # fmt: skip
dense = st.lists(st.sampled_from(DENSE), max_size=30).map("".join)
any_text = st.one_of(texts, mostly_inert, dense, dense, st.text(max_size=60))


def _as_dashes(text: str) -> str:
    return re.sub(f"[{DASHES}]", "-", text)


def plain_find_personal_data(text: str, **options) -> list[detect.Finding]:
    """find_personal_data as it was before shapes: every search, on every text."""
    known = options.get("known_addresses", ())
    detectors = [detect._id_findings]
    detectors += [detect._phone_findings] if options.get("phones", True) else []
    detectors += [detect._email_findings] if options.get("emails", True) else []
    readings = [(normalise._searched(text, False), detectors)]
    if normalise.has_line_joins(text):
        numbers = [d for d in detectors if d is not detect._email_findings]
        readings.append((normalise._searched(text, True), numbers))
    found = []
    for reading, run in readings:
        for detector in run:
            for f in detector(reading.text, known):
                start, end = reading.span(f.start, f.end)
                found.append(detect.Finding(f.kind, start, end, text[start:end]))
    return detect._merge(text, found)


@settings(max_examples=1500, deadline=None)
@given(any_text, st.booleans())
@example("Avvik 2026 \u2013 12 \u2013 videresendt", False)
@example("12 \u20133", True)
@example("1.\t2", False)
@example("1- 2", False)
def test_normalise_is_the_searched_form(text, joined):
    fast = normalise.normalise(text, joined=joined)
    assert fast == normalise._searched(text, joined)
    if shape(text).normal:
        assert fast.text == _as_dashes(text)
        assert not normalise.has_line_joins(text)


@settings(max_examples=1500, deadline=None)
@given(any_text)
@example("1- 2")
@example("1.\t2")
def test_a_shape_says_no_only_when_the_pattern_cannot_match(text):
    seen = shape(text)
    for reading in {text, normalise._searched(text, False).text, _as_dashes(text)}:
        if reading != text and not (seen.normal and reading == _as_dashes(text)):
            seen = shape(reading)  # as find_personal_data takes it
        if not seen.ids:
            assert detect._SIX_DIGITS.search(reading) is None
            assert detect._id_findings(reading) == []
        if not seen.phones:
            assert detect._NUMBER_CANDIDATE.search(reading) is None
            assert detect._phone_findings(reading) == []


@settings(max_examples=1500, deadline=None)
@given(any_text, st.booleans(), st.booleans())
@example("Ring 412\u00a034\u00a0567 eller 01018012345 \u2013 kari@x.no", True, True)
def test_the_same_findings_as_every_search(text, phones, emails):
    options = {"phones": phones, "emails": emails, "known_addresses": ["*@x.no"]}
    assert detect.find_personal_data(text, **options) == plain_find_personal_data(text, **options)


def test_every_glued_label_ends_in_a_letter_the_shape_looks_for():
    for label in normalise._LABELS.split("|"):
        assert label[-1] in LABEL_ENDS, label


def test_a_plain_report_body_takes_no_search():
    body = "Hei,\r\n\r\nAlarmen hos en bruker \u2013 enhet 12051 \u2013 kl. 10:16.\r\n" * 20
    seen = shape(body)
    assert seen.normal and not seen.ids and not seen.phones
    # and what would change it or be found does take the searches
    assert not shape(body + "tlf41234567").normal
    assert shape(body + "412 34 567").phones
    assert shape(body + "01018012345").ids
    assert not shape(body + "1  2").normal
    assert not shape(body + "1 \r\n2").normal
    assert shape(body + "\u0663").ids  # another script's digits: no answer (may)
