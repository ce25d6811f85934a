"""Who may give which command in a case: rules.yaml ``record: set_by:``.

The receiving side sets the record and closes; by default the reporter may set the
date of the event and the immediate measure. Anyone asked to confirm a closing may
only ``#bekreft`` or ``#avvis``; whether the sender is one of them is checked when the
command is applied. A line of the short form ("Årsak: …") that the sender may not set
is ordinary text, not a refused command.
"""

from __future__ import annotations

from gateway.case.informed import INFORMED
from gateway.rules.base import RuleSet
from gateway.threads.commands import CommandError
from gateway.threads.record_apply import CONFIRMER
from gateway.threads.record_commands import CLOSING, RecordCommand


def _field(command) -> str | None:
    """The field of the record a command sets (None: status, severity, closing)."""
    if not isinstance(command, RecordCommand) or command.verb in CLOSING:
        return None
    return "measure" if command.verb == "measure_done" else command.verb


def permitted(commands: list, side: str, ruleset: RuleSet) -> tuple[list, list[CommandError]]:
    """The commands a sender on ``side`` (not the receiver's) may give, and the refused."""
    allowed, refused = [], []
    if side == INFORMED:  # a copy kept informed gives no commands; form lines are text
        return [], [CommandError(c.line, "record.informed") for c in commands
                    if not getattr(c, "form", False)]  # fmt: skip
    for command in commands:
        if command.verb in CLOSING:
            allowed.append(command)
            continue
        field = _field(command)
        if side != CONFIRMER and field and ruleset.record.may_set(field, side):
            allowed.append(command)
        elif getattr(command, "form", False):
            continue  # a form line the sender may not fill in: just text
        elif side == CONFIRMER:
            refused.append(CommandError(command.line, "record.only_confirm"))
        elif field:
            word = command.line.split()[0].lstrip("#")
            refused.append(CommandError(command.line, "record.not_allowed", word))
        else:
            refused.append(CommandError(command.line, "only_receiver"))
    return allowed, refused
