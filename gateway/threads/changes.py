"""What a reply changes in its case: reopening, the receiver's commands, the first answer.

Each change is written with its event and returned as a line for the notices, in the
deployment's language (``templates/<lang>/phrases/threads.yaml``).
"""

from __future__ import annotations

import dataclasses

from gateway.i18n import Phrases
from gateway.store import cases as stored
from gateway.store import event, now
from gateway.store.caselog import CaseRow
from gateway.store.db import Database
from gateway.store.states import CaseStatus
from gateway.threads.commands import Command

_LABELS = ("status", "severity", "measure")  # the changes a notice lists


def set_fields(
    db: Database, case: CaseRow, values: dict, row_id: int, why: str, say: Phrases
) -> tuple[list[str], CaseRow]:
    """Change a case; returns the changes as lines for the notices, and the case after."""
    changes = []
    for key, value in values.items():
        if getattr(case, key) != value and key in _LABELS:
            label = say(f"threads.label_{key}")
            shown = say(f"values.{value}") if f"values.{value}" in say else value
            changes.append(say("threads.change", label=label, value=shown))
            detail = f"{getattr(case, key)} -> {value} ({why})"
            event(db, key, detail, case_id=case.id, message_id=row_id)
    values = {**values, "updated_at": now()}
    stored.update_case(db, case.id, values)
    return changes, dataclasses.replace(case, **values)


def reopen(db: Database, case: CaseRow, row_id: int, say: Phrases) -> tuple[list[str], CaseRow]:
    """A message in a closed case opens it again (closed_cases: reopen)."""
    values = {"status": CaseStatus.IN_PROGRESS, "closed_at": None}
    changes, case = set_fields(db, case, values, row_id, "reopened by a new message", say)
    event(db, "reopened", "a message arrived in the closed case", case_id=case.id,
          message_id=row_id)  # fmt: skip
    return [say("threads.reopened", change=c) for c in changes], case


def apply_commands(
    db: Database, case: CaseRow, commands: list[Command], row_id: int, say: Phrases
) -> tuple[list[str], CaseRow]:
    """The receiver's #status, #alvorlighet and #lukk, in order."""
    changes: list[str] = []
    for command in commands:
        if command.verb == "close":
            values = {"status": CaseStatus.CLOSED, "measure": command.value, "closed_at": now()}
            why = "command #close"
        else:
            values, why = {command.verb: command.value}, "command"
        more, case = set_fields(db, case, values, row_id, why, say)
        changes += more
    return changes, case
