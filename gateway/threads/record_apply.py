"""Applying a reply's commands to its case: the fields of the record, and closing as TQM.

``#lukk`` checks what rules.yaml ``record: closing:`` demands (a cause; every measure
done) and then closes at once, or, when someone must confirm, moves the case to *til
lukking*; ``#bekreft`` closes it and ``#avvis <grunn>`` sends it back. Each change is
written with its event and returned as a line for the notices. A command that cannot
be carried out on this case becomes a ``CommandError`` and changes nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from gateway.case import participants
from gateway.i18n import Phrases
from gateway.rules.base import RuleSet
from gateway.rules.suggestions import SUGGESTION
from gateway.store import cases as stored
from gateway.store import event, now
from gateway.store import record as measures
from gateway.store.caselog import CaseRow
from gateway.store.db import Database
from gateway.store.states import CaseStatus
from gateway.threads import changes as changing
from gateway.threads.commands import SEVERITIES, CommandError
from gateway.threads.record_commands import RecordCommand

CONFIRMER = "confirmer"  # the side of a closing owner or management added to confirm


@dataclass(frozen=True)
class Applied:
    """What the commands did: lines for the notices, the case after, the refused
    commands, how many were carried out, and who is asked to confirm a closing."""

    changes: tuple[str, ...]
    case: CaseRow
    refused: tuple[CommandError, ...]
    done: int
    ask_confirm: tuple[str, ...] = ()
    plain: int = 0  # of them #status, #alvorlighet, #lukk (the record's fields not counted)


@dataclass(frozen=True)
class Sender:
    """Who gives the commands: address and side (None: an administrator)."""

    address: str
    side: str | None
    row_id: int


def apply(db: Database, ruleset: RuleSet, case: CaseRow, commands: list, who: Sender,
          say: Phrases) -> Applied:  # fmt: skip
    """Carry out the commands in order; each sees the case as the ones before left it."""
    changes: list[str] = []
    refused: list[CommandError] = []
    asked: tuple[str, ...] = ()
    plain = 0
    for command in commands:
        result = _one(db, ruleset, case, command, who, say)
        if isinstance(result, CommandError):
            refused.append(result)
            continue
        plain += not isinstance(command, RecordCommand)
        more, case, ask = result
        changes += more
        asked = asked or ask
    done = len(commands) - len(refused)
    return Applied(tuple(changes), case, tuple(refused), done, asked, plain)


def _one(db, ruleset, case, command, who: Sender, say):
    verb = command.verb
    if verb in ("close", "close_without"):
        return close(db, ruleset, case, command, who, say)
    if verb == "confirm":
        return confirm(db, ruleset, case, command, who, say)
    if verb == "reject":
        return reject(db, ruleset, case, command, who, say)
    if isinstance(command, RecordCommand):
        return _field(db, ruleset, case, command, who, say)
    changes, case = changing.set_fields(db, case, {verb: command.value}, who.row_id,
                                        "command", say)  # fmt: skip
    return changes, case, ()


def _set(db, case: CaseRow, key: str, value, who: Sender, say: Phrases):
    """One column of the record: written, an event, a line for the notices."""
    if getattr(case, key) == value:
        return [], case
    event(db, "record", f"{key}: {getattr(case, key)} -> {value} (by {who.address})",
          case_id=case.id, message_id=who.row_id)  # fmt: skip
    values = {key: value, "updated_at": now()}
    stored.update_case(db, case.id, values)
    line = say("threads.change", label=say(f"record.label_{key}"), value=value)
    return [line], dataclasses.replace(case, **values)


def _stop_clock(db, case: CaseRow, who: Sender, say):
    """``#ikkje-personopplysningar``: the receiver says the data deviation is no
    personal-data breach, so the flow's clock in hours (followup/clock.py) stops."""
    if case.clock_stopped_at:
        return [], case, ()
    values = {"clock_stopped_at": now(), "updated_at": now()}
    stored.update_case(db, case.id, values)
    event(db, "clock-stopped", f"not a personal-data breach (by {who.address})",
          case_id=case.id, message_id=who.row_id)  # fmt: skip
    return [say("record.clock_stopped")], dataclasses.replace(case, **values), ()


def _field(db, ruleset: RuleSet, case: CaseRow, command: RecordCommand, who: Sender, say):
    if command.verb == "no_personal_data":
        return _stop_clock(db, case, who, say)
    if command.verb == "measure":
        return _measure(db, case, command, who, say)
    if command.verb == "measure_done":
        if not measures.mark_done(db, case.id, command.number):
            return CommandError(command.line, "record.no_such_measure", value=str(command.number))
        event(db, "measure-done", f"measure {command.number} done (by {who.address})",
              case_id=case.id, message_id=who.row_id)  # fmt: skip
        return [say("record.measure_done", number=command.number)], case, ()
    value = command.value
    if command.verb == "category":
        value = ruleset.record.categories.get(value.lower().rstrip("."))
        if value is None:
            keys = ", ".join(ruleset.record.category_keys)
            why = "record.unknown_category" if keys else "record.no_categories"
            return CommandError(command.line, why, keys, command.value)
    changes, case = _set(db, case, command.verb, value, who, say)
    return changes, case, ()


def _measure(db, case: CaseRow, command: RecordCommand, who: Sender, say):
    number = measures.add_measure(db, case.id, command.value, measures.PLANNED, command.due,
                                  command.owner, who.address)  # fmt: skip
    details = (say("record.measure_due", due=command.due) if command.due else "") + (
        say("record.measure_owner", owner=command.owner) if command.owner else ""
    )
    event(db, "measure", f"measure {number} planned: due {command.due or '-'}, owner "
          f"{command.owner or '-'} (by {who.address})", case_id=case.id,
          message_id=who.row_id)  # fmt: skip
    line = say("record.measure_added", number=number, text=command.value, details=details)
    return [line], case, ()


def confirmers(db: Database, ruleset: RuleSet, case: CaseRow) -> tuple[str, ...]:
    """Who confirms a closing (rules.yaml ``record: closing:``); () closes at once."""
    closing = ruleset.record.closing
    if closing.management_for_high and case.severity == SEVERITIES[-1]:
        if ruleset.follow_up.management:
            return tuple(ruleset.follow_up.management)
    if closing.confirm_by == "closing_owner":
        owner = closing.closing_owners.get(case.receiving_party or "")
        if owner:
            return (owner,)
    if closing.confirm_by in ("reporter", "closing_owner"):
        return tuple(participants.addresses(db, case.id, participants.REPORTER))
    return ()


def _closing_refusal(db, ruleset: RuleSet, case: CaseRow, command) -> CommandError | None:
    """Why the case may not close yet, or None (rules.yaml ``record: closing:``)."""
    closing = ruleset.record.closing
    # An improvement suggestion closes with its decision: it has no cause to give.
    if closing.require_cause and not case.cause and case.kind != SUGGESTION:
        return CommandError(command.line, "record.close_needs_cause")
    if command.verb == "close_without":
        return None
    listed = measures.measures_of(db, case.id)
    planned = [str(m.number) for m in listed if m.state == measures.PLANNED]
    done = sum(m.state == measures.DONE for m in listed) + bool(command.value)
    if closing.require_measures_done and planned:
        return CommandError(command.line, "record.close_needs_measures_done",
                            value=", ".join(planned))  # fmt: skip
    if not done:  # as always: #lukk alone needs a measure
        why = "record.close_needs_a_measure" if listed else "close_needs_measure"
        return CommandError(command.line, why)
    return None


def close(db, ruleset: RuleSet, case: CaseRow, command, who: Sender, say):
    """``#lukk [tiltak]`` or ``#lukk uten tiltak <begrunnelse>``: closed, or til lukking."""
    if refusal := _closing_refusal(db, ruleset, case, command):
        return refusal
    changes: list[str] = []
    asked = confirmers(db, ruleset, case)
    if asked:
        values = {"status": CaseStatus.TO_CLOSE, "close_requested_at": now(),
                  "close_requested_by": who.address}  # fmt: skip
    else:  # as it always was: status, measure, closed_at
        values = {"status": CaseStatus.CLOSED}
    if command.verb == "close_without":
        values["closed_without_measures"] = command.value
        changes.append(say("record.closed_without", why=command.value))
    elif command.value:
        measures.add_measure(db, case.id, command.value, measures.DONE, None, None, who.address)
    done = [m.text for m in measures.measures_of(db, case.id) if m.state == measures.DONE]
    values["measure"] = command.value or "; ".join(done) or None
    if not asked:
        values["closed_at"] = now()
    more, case = changing.set_fields(db, case, values, who.row_id, "command #close", say)
    if not asked:
        return more + changes, case, ()
    event(db, "close-requested", f"by {who.address}; to confirm: {', '.join(asked)}",
          case_id=case.id, message_id=who.row_id)  # fmt: skip
    for address in asked:
        if participants.side_of(db, case.id, address) is None:
            participants.add(db, case.id, address, CONFIRMER, CONFIRMER)
    return more + changes, case, asked


def _may_confirm(db, ruleset, case: CaseRow, command, who: Sender) -> CommandError | None:
    if case.status != CaseStatus.TO_CLOSE or not case.close_requested_at:
        return CommandError(command.line, "record.not_to_close")
    allowed = confirmers(db, ruleset, case)
    if who.side is not None and who.address not in allowed:
        return CommandError(command.line, "record.not_confirmer", value=", ".join(allowed))
    return None


def confirm(db, ruleset: RuleSet, case: CaseRow, command, who: Sender, say):
    """``#bekreft``: the case is closed."""
    if refusal := _may_confirm(db, ruleset, case, command, who):
        return refusal
    values = {"status": CaseStatus.CLOSED, "closed_at": now()}
    changes, case = changing.set_fields(db, case, values, who.row_id, "confirmed", say)
    event(db, "close-confirmed", f"by {who.address}", case_id=case.id, message_id=who.row_id)
    return [*changes, say("record.confirmed", who=who.address)], case, ()


def reject(db, ruleset: RuleSet, case: CaseRow, command, who: Sender, say):
    """``#avvis <grunn>``: back to under behandling, with the reason."""
    if refusal := _may_confirm(db, ruleset, case, command, who):
        return refusal
    values = {"status": CaseStatus.IN_PROGRESS, "close_requested_at": None}
    changes, case = changing.set_fields(db, case, values, who.row_id, "rejected", say)
    event(db, "close-rejected", f"by {who.address}: {command.value}", case_id=case.id,
          message_id=who.row_id)  # fmt: skip
    return [*changes, say("record.rejected", who=who.address, why=command.value)], case, ()
