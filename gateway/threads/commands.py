"""Commands in a reply: ``#status under behandling``, ``#alvorlighet høy``, ``#lukk <tiltak>``.

A command is a line of the new text that starts with ``#`` and a word. Norwegian names
are the main ones; Swedish and English work too. Values are given back in Norwegian, as
they are stored. A command that is unknown or malformed is an error with a reason, and
changes nothing: the sender gets a reply listing the valid commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STATUSES = ("registrert", "under behandling", "til lukking", "lukket")
SEVERITIES = ("lav", "middels", "høy")

VERBS = {
    "status": "status",
    "tilstand": "status",
    "alvorlighet": "severity",
    "alvorlighetsgrad": "severity",
    "allvarlighet": "severity",
    "allvarlighetsgrad": "severity",
    "severity": "severity",
    "prioritet": "severity",
    "lukk": "close",
    "steng": "close",
    "stäng": "close",
    "stang": "close",
    "close": "close",
}
STATUS_ALIASES = {
    "registrert": "registrert",
    "registrerad": "registrert",
    "registered": "registrert",
    "under behandling": "under behandling",
    "behandles": "under behandling",
    "pågår": "under behandling",
    "in progress": "under behandling",
    "under handläggning": "under behandling",
    "til lukking": "til lukking",
    "för stängning": "til lukking",
    "to close": "til lukking",
    "ready to close": "til lukking",
    "lukket": "lukket",
    "stängd": "lukket",
    "closed": "lukket",
}
SEVERITY_ALIASES = {
    "lav": "lav",
    "låg": "lav",
    "low": "lav",
    "middels": "middels",
    "medel": "middels",
    "medium": "middels",
    "høy": "høy",
    "hög": "høy",
    "high": "høy",
}

# The on-call duty's commands (gateway/followup/commands.py): refused from anyone else.
FOLLOW_UP = {
    "vurdert": "assess",
    "vurdering": "assess",
    "bedömd": "assess",
    "bedömning": "assess",
    "assessed": "assess",
    "haster": "urgent",
    "hastesak": "urgent",
    "brådskande": "urgent",
    "urgent": "urgent",
    "gjennomgått": "reviewed",
    "gjennomgatt": "reviewed",
    "genomgången": "reviewed",
    "genomgått": "reviewed",
    "reviewed": "reviewed",
}
FOLLOW_UP_ONLY = "bare beredskapsvakten og administratorene kan bruke denne kommandoen"
_LINE = re.compile(r"^\s*#([^\W\d_]+)\b[ \t:]*(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Command:
    verb: str  # status, severity or close
    value: str  # the Norwegian status or severity, or the measure for close


@dataclass(frozen=True)
class CommandError:
    line: str
    why: str


def parse_commands(text: str) -> tuple[list[Command], list[CommandError]]:
    """The commands in a reply's new text, and the lines that were not valid commands."""
    commands, errors = [], []
    for found in _LINE.finditer(text):
        word, rest = found.group(1).lower(), " ".join(found.group(2).split())
        line = found.group(0).strip()
        verb = VERBS.get(word)
        if word in FOLLOW_UP:
            errors.append(CommandError(line, FOLLOW_UP_ONLY))
        elif verb is None:
            errors.append(CommandError(line, f"ukjent kommando #{word}"))
        elif verb == "close":
            if rest:
                commands.append(Command("close", rest))
            else:
                errors.append(CommandError(line, "#lukk må følges av tiltaket som er gjort"))
        elif verb == "status":
            status = STATUS_ALIASES.get(rest.lower().rstrip("."))
            if status is None:
                errors.append(CommandError(line, f"ukjent status «{rest}»"))
            elif status == "lukket":
                errors.append(
                    CommandError(line, "en sak lukkes med #lukk og tiltaket som er gjort")
                )
            else:
                commands.append(Command("status", status))
        else:
            severity = SEVERITY_ALIASES.get(rest.lower().rstrip("."))
            if severity is None:
                errors.append(CommandError(line, f"ukjent alvorlighet «{rest}»"))
            else:
                commands.append(Command("severity", severity))
    return commands, errors


def without_commands(text: str) -> str:
    """The text with the command lines taken out (what is left to relay)."""
    return _LINE.sub("", text).strip()
