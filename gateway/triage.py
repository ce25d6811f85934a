"""Triage by the administrators: carry out their decision on what the rules left to them.

The decision is checked first, without writing (``gateway/decide/triage_answer.py``):
by e-mail as part of the answer's plan, by ``gateway triage decide`` just before this.
The message then goes on as if the rules had decided it, with the administrator's
decision on record.
"""

from __future__ import annotations

from gateway.case.record import record
from gateway.decide.triage_answer import Answer, TriageError, answer_for
from gateway.i18n import phrases
from gateway.models import Incoming
from gateway.stage import StageContext
from gateway.store import event
from gateway.store import messages as stored
from gateway.store.db import Database
from gateway.threads.reply import record_reply

__all__ = ["TriageError", "carry_out", "decide_triaged", "waiting"]


def waiting(db: Database) -> list[stored.Waiting]:
    """Triaged and held messages no administrator has decided yet, oldest first."""
    return stored.waiting(db)


def decide_triaged(stage: StageContext, row_id: int, action: str, value: str, who: str) -> str:
    """Check and carry out an administrator's decision (inside ``write(db)``); returns
    what was done, in the deployment's language. Raises TriageError (``shown()`` says
    why in words)."""
    answer = answer_for(stage.db, stage.rules, row_id, action, value, who)
    return carry_out(stage, answer)


def carry_out(stage: StageContext, answer: Answer) -> str:
    """Carry out a checked answer (in the caller's transaction); returns a summary.
    Raises TriageError for a refused one, or when the message was decided meanwhile."""
    if answer.error or answer.target is None:
        raise answer.error or TriageError("no_message", number=answer.number)
    target, number, db = answer.target, answer.number, stage.db
    say = phrases(stage.rules.language)
    row = stored.get(db, number)
    if row is None or row.outcome not in ("triage", "hold"):  # decided by someone else since
        raise TriageError("not_waiting", number=number, outcome=row and row.outcome)
    item = Incoming(number, target.mailbox, target.received_at, target.raw, target.parsed)
    event(
        db, "admin-decision", f"#{answer.action} {answer.value} by {answer.who}", message_id=number
    )
    if answer.action == "ignore":
        reason = f"ignored by {answer.who}: {answer.value}"
        stored.finish(db, number, {"outcome": "ignore", "reason": reason})
        return say("triage.ignored", number=number)
    if answer.action == "case":
        record_reply(stage, item, answer.decision, answer.case)
        return say("triage.added_to_case", number=number, reference=answer.case.reference)
    reference = record(stage, item, answer.decision)
    return say("triage.relayed", number=number, reference=reference)
