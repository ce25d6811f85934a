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
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.settings import Settings
from gateway.store import event
from gateway.store import messages as stored
from gateway.store.db import Database
from gateway.threads.reply import record_reply

__all__ = ["TriageError", "carry_out", "decide_triaged", "waiting"]


def waiting(db: Database) -> list[stored.Waiting]:
    """Triaged and held messages no administrator has decided yet, oldest first."""
    return stored.waiting(db)


def decide_triaged(
    db: Database,
    row_id: int,
    action: str,
    value: str,
    ruleset: RuleSet,
    renderer: Renderer,
    settings: Settings,
    who: str,
) -> str:
    """Check and carry out an administrator's decision (inside ``write(db)``); returns
    what was done, in the deployment's language. Raises TriageError (``shown()`` says
    why in words)."""
    answer = answer_for(db, ruleset, row_id, action, value, who)
    return carry_out(db, answer, ruleset, renderer, settings)


def carry_out(
    db: Database, answer: Answer, ruleset: RuleSet, renderer: Renderer, settings: Settings
) -> str:
    """Carry out a checked answer (in the caller's transaction); returns a summary.
    Raises TriageError for a refused one, or when the message was decided meanwhile."""
    if answer.error or answer.target is None:
        raise answer.error or TriageError("no_message", number=answer.number)
    target, number = answer.target, answer.number
    say = phrases(ruleset.language)
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
        record_reply(db, item, answer.decision, answer.case, ruleset, renderer)
        return say("triage.added_to_case", number=number, reference=answer.case.reference)
    reference = record(
        db,
        item,
        answer.decision,
        ruleset,
        renderer,
        send_receipts=settings.send_receipts,
        deliver_for_hours=settings.deliver_for_hours,
    )
    return say("triage.relayed", number=number, reference=reference)
