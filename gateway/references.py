"""Tracking references (AVVIK-2026-0042): found again in subjects that mail clients mangled.

Replies and forwards stack prefixes in many languages (``SV: VS: RE:``, ``Antw:``,
``Fwd:``, ``[EXT]``); the reference is looked for after all of them, and anywhere in the
subject after that, so ``SV: [AVVIK-2026-0042] Trygghetsalarm`` and
``Re: Fwd: AVVIK-2026-0042`` both find it.
"""

from __future__ import annotations

import re
from functools import lru_cache

_PREFIX = re.compile(
    r"^\s*(?:(?:re|sv|vs|fw|fwd|aw|wg|antw|tr|rv|vb|ynt|odp|r|i)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]"
    r"|\[ext(?:ern)?\]|\*{3}\s*spam\s*\*{3})\s*",
    re.IGNORECASE,
)


def strip_prefixes(subject: str) -> str:
    """The subject without any stacked reply/forward prefixes."""
    previous = None
    while previous != subject:
        previous, subject = subject, _PREFIX.sub("", subject, count=1)
    return subject.strip()


@lru_cache(maxsize=8)
def _own(words: tuple[str, ...]) -> re.Pattern[str] | None:
    alts = "|".join(re.escape(w) for w in words if w)
    if not alts:
        return None
    return re.compile(rf"^\s*(?:\[\s*(?:{alts})\b[^\]]*\]|(?:{alts})\s*[:：])\s*", re.IGNORECASE)


def strip_own_words(subject: str, words: tuple[str, ...]) -> str:
    """The subject without reply prefixes and the gateway's own leading words
    ("Mottatt:", "Endret:", "[Til vurdering #3]"), stacked in any order: what a reply
    to a receipt or a notice keeps when it is relayed to the other side."""
    own = _own(tuple(words))
    previous = None
    while previous != subject:
        previous = subject
        subject = strip_prefixes(subject)
        if own is not None:
            subject = own.sub("", subject, count=1)
    return subject.strip()


def _tuple(prefix: str | tuple[str, ...]) -> tuple[str, ...]:
    return (prefix,) if isinstance(prefix, str) else tuple(prefix)


@lru_cache(maxsize=16)
def _pattern(prefixes: tuple[str, ...]) -> re.Pattern[str]:
    alts = "|".join(re.escape(p) for p in prefixes)
    return re.compile(rf"(?<![\w-])({alts})-(\d{{4}})-(\d{{4,}})(?!\w)", re.IGNORECASE)


def find_reference(subject: str, prefix: str | tuple[str, ...] = "AVVIK") -> str | None:
    """The first tracking reference in a subject, normalised (upper-case prefix).
    ``prefix`` may be several: a deviation's (AVVIK) and a suggestion's (FORSLAG)."""
    found = _pattern(_tuple(prefix)).search(strip_prefixes(subject))
    return f"{found.group(1).upper()}-{found.group(2)}-{found.group(3)}" if found else None
