"""Shortcuts in gateway/privacy/detect.py (a look-ahead before the phone pattern's
look-behinds, the identity-number scans starting at the first run of six digits) must
find exactly what the plain patterns find."""

from __future__ import annotations

import random
import re

from gateway.privacy import detect
from gateway.privacy.detect import _NO_ID, _PHONE, _SE_ID

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
