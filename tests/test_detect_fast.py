"""Shortcuts in gateway/privacy/detect.py (a look-ahead before the phone pattern's
look-behinds, the identity-number scans starting at the first run of six digits) must
find exactly what the plain patterns find; and the one scan of a report's body must
find what a scan of its new text would."""

from __future__ import annotations

import random
import re

from gateway.privacy import detect
from gateway.privacy.detect import _NO_ID, _PHONE, _SE_ID
from gateway.privacy.policy import new_text_findings
from gateway.text import new_text

_PLAIN_PHONE = re.compile(
    _PHONE.pattern.replace(
        "(?=[(+0-9])  # what a match starts with: other positions skip the look-behinds below",
        "",
        1,
    ),
    re.VERBOSE,
)


def _plain_ids(text: str) -> list[detect.Finding]:
    found = []
    for m in _NO_ID.finditer(text):
        kind = detect._norwegian_kind(m.group(1) + m.group(2))
        if kind:
            found.append(detect.Finding(kind, m.start(), m.end(), m.group()))
    for m in _SE_ID.finditer(text):
        kind = detect._swedish_kind(m.group(1), m.group(2) or "", m.group(3))
        if kind:
            found.append(detect.Finding(kind, m.start(), m.end(), m.group()))
    return found


PIECES = [
    "tlf ", "Ring meg på ", "+47 ", "0047", "(+47) ", "kr ", "Saksnr: ", " ", "\u00a0", "&nbsp;",
    "12345678", "412 34 567", "41 23 45 67", "22334455", "01018012345", "010180 12345",
    "15076500565", "55021712345", "19811218-9876", "811218-9876", "811278+9876",
    "2026-03-12 10:15:02", "12.03.2026", "3.1415926535", "ab12345678", "0x41234567",
    "\n", ".", ",", "-", "/", "a", "Ø", "٣٤٥٦٧٨", "123456", "1234567890123",
]  # fmt: skip


def test_same_findings_as_the_plain_patterns():
    assert _PLAIN_PHONE.pattern != _PHONE.pattern
    rng = random.Random(3)
    for _ in range(4000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 14)))
        assert [m.span() for m in _PHONE.finditer(text)] == [
            m.span() for m in _PLAIN_PHONE.finditer(text)
        ], text
        assert detect._id_findings(text) == _plain_ids(text), text


LINES = [*PIECES, "\r\n", "\r\n\r\n", "kr", "bytes", "tlf", "Saksnr ", "4.", ":", "9", "5,",
         "kari@x.example", "> sitat 91234567", "Den 1. mars kl. 10:15 skrev Kari:"]  # fmt: skip


def test_the_same_findings_in_crlf_and_lf_text():
    """De-identification scans a report's body once and places the findings in its new
    text (LF, see gateway/privacy/policy.new_text_findings): that needs the patterns to
    find the same whatever the line endings."""
    rng = random.Random(7)
    pieces = [p for p in LINES if p != "\n"]
    for _ in range(6000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 16)))
        crlf = [(f.kind, f.text) for f in detect.find_personal_data(text)]
        lf = [(f.kind, f.text) for f in detect.find_personal_data(text.replace("\r\n", "\n"))]
        assert crlf == lf, text


def test_new_text_findings_are_what_a_scan_of_the_new_text_finds():
    rng = random.Random(8)
    used = 0
    for _ in range(3000):
        lines = ["".join(rng.choice(LINES) for _ in range(rng.randint(0, 6))) for _ in range(4)]
        body = "\r\n".join(lines) + rng.choice(["", "\r\n", "\r\n  \r\n", "\n"])
        fresh = new_text(body)
        shifted = new_text_findings(body, fresh, detect.find_personal_data(body))
        if shifted is not None:
            used += 1
            assert shifted == detect.find_personal_data(fresh), body
    assert used > 1000  # the shortcut is taken for most bodies
    report = "Ring 91234567.\r\nHilsen Kari\r\n\r\n"
    assert new_text_findings(report, new_text(report), detect.find_personal_data(report))
    for body in ("Ring 91234567\r> sitat\r\n", "\ufeffRing 91234567\r\n", "Ring 91234567\rmeg"):
        assert new_text_findings(body, new_text(body), detect.find_personal_data(body)) is None


def test_a_line_is_read_alike_alone_and_among_others():
    """What is found in a line does not depend on the lines around it (a subject is
    scanned alone, the same words in a body among other lines). Except across a
    format=flowed soft break (a space ending a line, a digit on either side), which a
    client joins: test_privacy_normalise.py covers that; here no line ends in a space."""
    rng = random.Random(11)
    pieces = [p for p in LINES if "\n" not in p and "\r" not in p]
    for _ in range(3000):
        a, line, b = ("".join(rng.choice(pieces) for _ in range(rng.randint(0, 8))) for _ in "abc")
        a, line = a.rstrip(" \u00a0\u202f"), line.rstrip(" \u00a0\u202f")
        whole, start = f"{a}\n{line}\n{b}", len(a) + 1
        among = [
            (f.kind, f.start - start, f.text)
            for f in detect.find_personal_data(whole)
            if start <= f.start and f.end <= start + len(line)
        ]
        alone = [(f.kind, f.start, f.text) for f in detect.find_personal_data(line)]
        assert among == alone, (a, line, b)
