"""Commands in a reply: ``#status under behandling``, ``#alvorlighet høy``, ``#lukk <tiltak>``.

A command is a line of the new text that starts with ``#`` and a word. The words come
from ``templates/<lang>/commands.yaml``: every language's work in every deployment.
Values are stored as the case log keeps them (bokmål). A command that is unknown or
malformed is an error with a reason, and changes nothing: the sender gets a reply
listing the valid commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.i18n import Phrases, command_words, stored_values
from gateway.threads import record_commands as record

_WORDS = command_words()
VERBS = _WORDS["case"]  # word -> status, severity or close
FOLLOW_UP = _WORDS["on_call"]  # the on-call duty's (gateway/followup/commands.py)
STATUS_ALIASES = _WORDS["statuses"]
SEVERITY_ALIASES = _WORDS["severities"]
STATUSES = stored_values("statuses")
SEVERITIES = stored_values("severities")
CLOSED = STATUSES[-1]
# A command word may have hyphens inside it (#ikkje-personopplysningar).
_LINE = re.compile(r"^\s*#([^\W\d_]+(?:-[^\W\d_]+)*)\b[ \t:]*(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Command:
    verb: str  # status, severity or close
    value: str  # the stored status or severity, or the measure for close
    line: str = ""


@dataclass(frozen=True)
class CommandError:
    """A refused command line; ``why`` names a phrase of ``threads.yaml``."""

    line: str
    why: str
    word: str = ""
    value: str = ""

    def shown(self, say: Phrases) -> dict:
        """As the command error notice lists it: the line and why, in words."""
        key = self.why if "." in self.why else f"threads.{self.why}"  # record.* too
        return {"line": self.line, "why": say(key, word=self.word, value=self.value)}


def parse_commands(text: str) -> tuple[list[Command], list[CommandError]]:
    """The commands in a reply's new text, and the lines that were not valid commands."""
    commands, errors = [], []
    for found in _LINE.finditer(text):
        word, rest = found.group(1).lower(), " ".join(found.group(2).split())
        result = _command(word, rest, found.group(0).strip())
        (errors if isinstance(result, CommandError) else commands).append(result)
    for label, rest, line in record.form_lines(text):  # the short form: "Årsak: ..."
        result = _record(label, rest, line, form=True)
        (errors if isinstance(result, CommandError) else commands).append(result)
    return commands, errors


def _record(word: str, rest: str, line: str, form: bool = False):
    """A command of the record (gateway/threads/record_commands.py), or why not."""
    result = record.record_command(word, rest, line, form)
    if isinstance(result, tuple):
        return CommandError(line, f"record.{result[0]}", word, result[1])
    return result


def _command(word: str, rest: str, line: str):
    verb = VERBS.get(word)
    if word in FOLLOW_UP:
        return CommandError(line, "only_on_call", word)
    if word in record.VERBS:
        return _record(word, rest, line)
    if verb is None:
        return CommandError(line, "unknown_command", word)
    if verb == "close":  # bare #lukk: the measures of the record must be done
        if without := record.WITHOUT.match(rest):
            why = without.group(1).strip()
            return (
                Command("close_without", why, line)
                if why
                else CommandError(line, "record.close_without_needs_reason")
            )
        return Command("close", rest, line)
    value = rest.lower().rstrip(".")
    if verb == "status":
        status = STATUS_ALIASES.get(value)
        if status is None:
            return CommandError(line, "unknown_status", word, rest)
        if status == CLOSED:
            return CommandError(line, "close_with_command", word, rest)
        return Command("status", status, line)
    severity = SEVERITY_ALIASES.get(value)
    if severity is None:
        return CommandError(line, "unknown_severity", word, rest)
    return Command("severity", severity, line)


def without_commands(text: str) -> str:
    """The text with the command lines taken out (what is left to relay)."""
    return _LINE.sub("", text).strip()
