"""Carry out a plan: one small function per outcome, each in the caller's transaction.

The plan (``gateway/decide/chain.py``) says what becomes of a message; this module
only does it: the message's end state, the case, the events and the outbox rows, all
in one transaction, so that after a crash there is all of it or none of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gateway.case.overview import overview
from gateway.case.record import record
from gateway.decide.chain import Plan
from gateway.decide.facts import Facts
from gateway.decide.triage_answer import TriageError
from gateway.followup import commands as follow_up
from gateway.helpdesk.record import record_notice
from gateway.i18n import phrases
from gateway.models import Incoming, Outcome
from gateway.outbox.queue import enqueue
from gateway.privacy.policy import Deidentified
from gateway.safety import link_bounce, mark_duplicate, quarantine, too_large
from gateway.stage import StageContext
from gateway.store import event, savepoint
from gateway.store import messages as stored
from gateway.threads.reply import record_reply
from gateway.triage import carry_out as carry_out_answer

log = logging.getLogger("gateway.pipeline")


def carry_out(
    stage: StageContext, facts: Facts, plan: Plan, shown: Deidentified | None = None
) -> None:
    """Do what the plan says (``shown``: the de-identified message, worked out before)."""
    _HANDLERS[plan.outcome](stage, facts, plan, shown)


def _incoming(facts: Facts) -> Incoming:
    a = facts.arrival
    return Incoming(a.row_id, a.mailbox, a.received_at, facts.raw, facts.msg)


def _too_large(stage: StageContext, facts: Facts, plan: Plan, shown) -> None:
    too_large(stage, facts.arrival.row_id, facts.arrival.size, plan.reason)


def _quarantine(stage: StageContext, facts: Facts, plan: Plan, shown) -> None:
    quarantine(stage.db, facts.arrival.row_id, plan.reason)


def _duplicate(stage: StageContext, facts: Facts, plan: Plan, shown) -> None:
    mark_duplicate(stage.db, facts.arrival.row_id, facts.msg, plan.reason)


def _command(stage: StageContext, facts: Facts, plan: Plan, shown) -> None:
    reason = follow_up.handle(stage.db, _incoming(facts), stage.rules, stage.renderer)
    event(stage.db, "command", reason, message_id=facts.arrival.row_id)
    log.info("follow-up command(s) from %s: %s", facts.msg.from_addr, reason)


def _overview(stage: StageContext, facts: Facts, plan: Plan, shown) -> None:
    log.info("%s", overview(stage, _incoming(facts)))


def _reply(stage: StageContext, facts: Facts, plan: Plan, shown) -> None:
    record_reply(stage, _incoming(facts), plan.decision, plan.case)


def _notice(stage: StageContext, facts: Facts, plan: Plan, shown) -> None:
    case_id = plan.case.case_id if plan.case else None
    record_notice(stage, _incoming(facts), plan.reason, case_id)


def _decided(stage: StageContext, facts: Facts, plan: Plan, shown) -> None:
    """Relay, triage or ignore, as rules.yaml (or the chain, for triage) decided."""
    item, decision = _incoming(facts), plan.decision
    reference = record(stage, item, decision, related_reference=plan.related_reference, shown=shown)
    if "bounce" in decision.rules:  # after record(): it links the bounce to its case
        link_bounce(stage, item)
    if plan.outcome is Outcome.RELAY:
        log.info("relay %s flow %s to %s", reference, decision.flow, decision.receiving_party)
    else:
        log.info("%s message %s (%s)", plan.outcome, item.row_id, plan.deciding_rule)


def _admin_answer(stage: StageContext, facts: Facts, plan: Plan, shown) -> None:
    """An administrator's answer to a triage note: carry out the decision in it."""
    answer, row_id, who = plan.answer, facts.arrival.row_id, facts.msg.from_addr
    try:
        with savepoint(stage.db):  # a refusal found while writing undoes what it wrote
            done = carry_out_answer(stage, answer)
        reason = f"triage decision by {who}: {done}"
    except TriageError as exc:
        why = exc.shown(phrases(stage.rules.language))
        reason = f"triage decision by {who} refused: {why}"
        error = stage.renderer.message(
            "triage_error.txt.j2",
            {"number": answer.number, "error": why},
            purpose="notice",
            to=[who],
            original=facts.msg,
        )
        enqueue(stage.db, error)
    values = {"outcome": str(Outcome.ADMIN_ANSWER), "reason": reason}
    stored.finish(stage.db, row_id, values | {"from_addr": who, "subject": facts.msg.subject})
    event(stage.db, "admin", reason, message_id=row_id)
    log.info("triage decision for message %s by an administrator", answer.number)


_HANDLERS: dict[Outcome, Callable[[StageContext, Facts, Plan, Deidentified | None], None]] = {
    Outcome.TOO_LARGE: _too_large,
    Outcome.QUARANTINE: _quarantine,
    Outcome.DUPLICATE: _duplicate,
    Outcome.COMMAND: _command,
    Outcome.OVERVIEW: _overview,
    Outcome.ADMIN_ANSWER: _admin_answer,
    Outcome.THREAD: _reply,
    Outcome.NOTICE: _notice,
    Outcome.HOLD: _reply,
    Outcome.RELAY: _decided,
    Outcome.TRIAGE: _decided,
    Outcome.IGNORE: _decided,
}
