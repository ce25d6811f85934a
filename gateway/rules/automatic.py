"""``automatic_mail:`` in rules.yaml: how automatic replies and delivery notices begin.

Mail clients mark most of their automatic replies with headers (Auto-Submitted,
X-Autoreply, Precedence), and the built-in rule ``auto-reply`` reads those first. Some
send none; they are told by how they begin: the subject starts with one of
``subject_starts`` (after any Re:/SV:/AW: prefixes), or the first line of the text
starts with one of ``opening_lines``. Only the start counts, so that a report whose
subject merely mentions an automatic reply ("Avvik: automatisk svar fra alarmsentral
mangler") is still a report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AutomaticMail:
    """The beginnings that mark automatic mail, compiled."""

    subject: re.Pattern[str] | None = None
    opening: re.Pattern[str] | None = None


def beginning(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern that matches when a text begins with one of the phrases (any case, any
    run of white space between words, the phrase ending at a word's end)."""
    alternatives = [r"\s+".join(map(re.escape, p.split())) for p in phrases if p.strip()]
    if not alternatives:
        return None
    longest_first = sorted(alternatives, key=len, reverse=True)
    return re.compile(rf"\A\s*(?:{'|'.join(longest_first)})(?!\w)", re.IGNORECASE)


def parse_automatic(
    spec: Any, legacy: list | None, line_of: Callable, add: Callable[[int, str], None]
) -> AutomaticMail:
    """The ``automatic_mail:`` section; without it, ``words: automatic_subject`` (from
    before the section existed) gives the subject beginnings."""
    if spec is None:
        return AutomaticMail(subject=beginning(str(p) for p in legacy or []))
    if not isinstance(spec, dict):
        add(line_of(spec), "automatic_mail: expected subject_starts and opening_lines")
        return AutomaticMail()
    lists = {}
    for key in ("subject_starts", "opening_lines"):
        values = spec.get(key) or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            add(line_of(spec, key), f"automatic_mail: {key}: expected a list of phrases (quoted)")
            values = []
        lists[key] = values
    for key in set(spec) - set(lists):
        add(line_of(spec, key), f"automatic_mail: unknown key {key!r}")
    return AutomaticMail(beginning(lists["subject_starts"]), beginning(lists["opening_lines"]))
