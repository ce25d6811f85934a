"""The record's commands: ``#årsak``, ``#tiltak … frist 2026-12-15``, ``#bekreft`` …

and the short form a relay offers (lines ``Årsak: …``). Both are read from the new
text only. The words are in ``templates/<lang>/commands.yaml`` (groups ``record``,
``record_words`` and ``form``); every language's work in every deployment. Parsing
knows no case: whether a category exists, a measure number is planned or the case may
close is decided when the command is applied (``gateway/threads/record_apply.py``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from gateway.i18n import command_words

_WORDS = command_words()
VERBS = _WORDS["record"]  # word -> event_date, category, ..., confirm, reject
FORM = _WORDS["form"]  # a form label -> the field it fills
_INNER = _WORDS["record_words"]
FIELDS = ("event_date", "category", "immediate_measure", "cause", "measure")
CLOSING = ("confirm", "reject")
FLAGS = ("no_personal_data",)  # a command that says something by itself: no text after it


def _alternatives(meaning: str) -> str:
    words = sorted((w for w, m in _INNER.items() if m == meaning), key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)


_DONE = re.compile(rf"^(?:{_alternatives('done')})\s+(\d+)\.?$", re.IGNORECASE)
_DUE = re.compile(rf"\s*\b(?:{_alternatives('due')})\s+(\d[\d./-]*\d)\b", re.IGNORECASE)
_OWNER = re.compile(rf"\s*\b(?:{_alternatives('owner')})\s+(\S+@[^\s,;]+)", re.IGNORECASE)
WITHOUT = re.compile(rf"^(?:{_alternatives('without')})\b[\s:,-]*(.*)$", re.IGNORECASE)
_LABELS = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(FORM, key=len, reverse=True))
_FORM_LINE = re.compile(rf"^[ \t]*({_LABELS})[ \t]*:[ \t]*(\S.*)$", re.IGNORECASE | re.MULTILINE)


_OVERVIEW = re.compile(
    r"^[ \t]*#(" + "|".join(map(re.escape, _WORDS["overview"])) + r")[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


def is_overview(text: str) -> bool:
    """A line ``#oversikt`` alone in the new text: the sender asks for their open cases."""
    return bool(_OVERVIEW.search(text))


@dataclass(frozen=True)
class RecordCommand:
    """A command of the record. ``verb``: a field of ``FIELDS``, ``measure_done``,
    ``confirm`` or ``reject``; ``form``: read from a line of the short form, which is
    ignored rather than refused when the sender may not set the field."""

    verb: str
    value: str
    line: str = ""
    due: str | None = None
    owner: str | None = None
    number: int | None = None
    form: bool = False


def parse_date(text: str) -> str | None:
    """2026-11-28 or 28.11.2026 (also 28.11.26 and 28/11/2026) as ISO, or None."""
    text = text.strip().rstrip(".")
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    found = re.fullmatch(r"(\d{1,2})[./](\d{1,2})[./](\d{2}|\d{4})", text)
    if not found:
        return None
    day, month, year = (int(g) for g in found.groups())
    try:
        return dt.date(year + 2000 if len(found.group(3)) == 2 else year, month, day).isoformat()
    except ValueError:
        return None


def record_command(word: str, rest: str, line: str, form: bool = False):
    """One record command, or ``(why, value)`` when it is malformed (a phrase of
    ``record.yaml``)."""
    verb = VERBS.get(word) or FORM.get(word)
    if verb == "event_date":
        date = parse_date(rest)
        return RecordCommand(verb, date, line, form=form) if date else ("bad_date", rest)
    if verb == "measure":
        return _measure(rest, line, form, word)
    if verb == "reject" and not rest:
        return ("reject_needs_reason", "")
    if verb in CLOSING or verb in FLAGS:
        return RecordCommand(verb, rest, line)
    if not rest:
        return ("needs_text", word)
    return RecordCommand(verb, rest, line, form=form)


def _measure(rest: str, line: str, form: bool, word: str):
    """``#tiltak`` (or the word the writer used: ``#åtgärd``, ``#measure``)."""
    if done := _DONE.match(rest):
        return RecordCommand("measure_done", rest, line, number=int(done.group(1)), form=form)
    due = owner = None
    if found := _DUE.search(rest):
        due = parse_date(found.group(1))
        if due is None:
            return ("bad_date", found.group(1))
        rest = rest[: found.start()] + rest[found.end() :]
    if found := _OWNER.search(rest):
        owner = found.group(1).lower().rstrip(".")
        rest = rest[: found.start()] + rest[found.end() :]
    text = " ".join(rest.split()).strip(" ,;")
    if not text:
        return ("needs_text", word)  # the writer's own word back
    return RecordCommand("measure", text, line, due=due, owner=owner, form=form)


def form_lines(text: str) -> list[tuple[str, str, str]]:
    """The filled-in lines of the short form in a new text: (label, value, line)."""
    return [
        (" ".join(m.group(1).lower().split()), " ".join(m.group(2).split()), m.group(0).strip())
        for m in _FORM_LINE.finditer(text)
    ]
