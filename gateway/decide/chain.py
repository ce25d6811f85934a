"""The one decision chain: every stored message's fate is decided here, and only here.

The pipeline, ``gateway classify`` and ``gateway rules test`` all call ``plan()``; the
plan is frozen, and carrying it out (``gateway/pipeline.py``) changes nothing in it.
The built-in rules run first, in the order of ``CHAIN``; the first that matches gives
the outcome. The last link, ``rules-yaml``, always matches: what no built-in rule
claimed is decided by the rules of rules.yaml (``gateway/decide/yaml_rules.py``).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Protocol

from gateway.case import participants
from gateway.decide.builtin.automatic import IgnoredByRules
from gateway.decide.builtin.duplicate import Duplicate
from gateway.decide.builtin.forged import ForgedSender
from gateway.decide.builtin.helpdesk import HelpdeskNotice
from gateway.decide.builtin.mailboxes import TwoMailboxes
from gateway.decide.builtin.on_call import OnCallCommand
from gateway.decide.builtin.overview import OverviewRequest
from gateway.decide.builtin.reply import (
    ClosedCaseNew,
    LoopBrake,
    OutsiderReply,
    ReplyInCase,
    RulesYaml,
    UnknownReference,
)
from gateway.decide.builtin.sender import AmbiguousSender
from gateway.decide.builtin.size import TooLarge
from gateway.decide.builtin.triage_answer import ForeignTriageAnswer, TriageAnswer
from gateway.decide.builtin.unreadable import Unreadable
from gateway.decide.explain import explain
from gateway.decide.facts import Facts
from gateway.decide.triage_answer import Answer, plan_answer
from gateway.models import Decision, Outcome
from gateway.threads.match import CaseMatch

log = logging.getLogger("gateway.decide")


class ChainRule(Protocol):
    """A built-in rule of the chain. See ``gateway.rules.base.Rule``, over ``Facts``."""

    name: str
    description: str
    record: bool

    def check(self, facts: Facts) -> bool: ...


RULES = None  # the link's outcome is the one rules.yaml gives

# The built-in chain, in order: (rule, outcome when it matches). First match decides.
CHAIN: tuple[tuple[ChainRule, Outcome | None], ...] = (
    (TooLarge(), Outcome.TOO_LARGE),
    (Unreadable(), Outcome.QUARANTINE),
    (Duplicate(), Outcome.DUPLICATE),
    (HelpdeskNotice(), Outcome.NOTICE),
    (IgnoredByRules(), RULES),
    (ForgedSender(), Outcome.TRIAGE),
    (AmbiguousSender(), Outcome.TRIAGE),
    (TriageAnswer(), Outcome.ADMIN_ANSWER),
    (ForeignTriageAnswer(), Outcome.TRIAGE),
    (OnCallCommand(), Outcome.COMMAND),
    (OverviewRequest(), Outcome.OVERVIEW),
    (UnknownReference(), Outcome.TRIAGE),
    (ClosedCaseNew(), RULES),
    (OutsiderReply(), Outcome.HOLD),
    (LoopBrake(), Outcome.HOLD),
    (ReplyInCase(), Outcome.THREAD),
    (TwoMailboxes(), Outcome.TRIAGE),
    (RulesYaml(), RULES),
)


@dataclass(frozen=True)
class Plan:
    """What becomes of one message, and why. ``decision`` carries the receivers and the
    case's fields where there are any; ``chain`` the built-in rules that were checked,
    the deciding one last."""

    outcome: Outcome
    reason: str
    chain: tuple[str, ...]
    decision: Decision | None = None
    case: CaseMatch | None = None  # the case a reply belongs to (or a new case follows)
    related_reference: str | None = None  # a new case's closed predecessor
    duplicate_of: int | None = None
    answer: Answer | None = None  # an administrator's answer to a triage note

    @property
    def deciding_rule(self) -> str:
        return self.chain[-1]

    def as_json(self) -> dict:
        """What ``gateway classify --json`` prints."""
        base = self.decision.as_json() if self.decision else {"rules": []}
        out = base | {"decision": str(self.outcome), "reason": self.reason}
        out["chain"] = list(self.chain)
        if self.case is not None:
            out |= {"case": self.case.reference, "matched_by": self.case.matched_by}
        if self.related_reference:
            out["related_reference"] = self.related_reference
        if self.duplicate_of is not None:
            out["duplicate_of"] = self.duplicate_of
        if self.answer is not None:
            out["answer"] = self.answer.as_json()
        if self.decision and self.decision.explanation:
            out["explanation"] = self.decision.explanation
        return out


def plan(facts: Facts) -> Plan:
    """Run the chain over one message: the first built-in rule that matches decides."""
    checked: list[str] = []
    for rule, outcome in CHAIN:
        checked.append(rule.name)
        if rule.check(facts):
            result = _build(facts, outcome, tuple(checked))
            log.debug(
                "%s: message %s by %s (%s)",
                str(result.outcome).upper(),
                facts.arrival.row_id if facts.arrival.row_id is not None else "-",
                rule.name,
                result.reason,
            )
            return result
    raise AssertionError("the chain ends in rules-yaml, which always matches")


def _build(facts: Facts, outcome: Outcome | None, chain: tuple[str, ...]) -> Plan:
    result = _outcome(facts, outcome, chain)
    if result.outcome in (Outcome.TRIAGE, Outcome.HOLD):  # told to the administrators
        told = explain(facts, chain[-1], result.decision)
        result = dataclasses.replace(
            result, decision=dataclasses.replace(result.decision, explanation=told)
        )
    return result


def _outcome(facts: Facts, outcome: Outcome | None, chain: tuple[str, ...]) -> Plan:
    why = " ".join(facts.notes)
    if outcome in (Outcome.TOO_LARGE, Outcome.QUARANTINE):
        return Plan(outcome, why, chain)
    if outcome is Outcome.DUPLICATE:
        return Plan(outcome, why, chain, duplicate_of=facts.duplicate_of)
    if outcome is RULES:
        decision = facts.decision
        related = facts.case.reference if chain[-1] == "closed-case-new" else None
        return Plan(decision.decision, decision.reason, chain, decision, facts.case, related)
    if outcome is Outcome.ADMIN_ANSWER:
        answer = plan_answer(facts)
        return Plan(outcome, answer.summary(), chain, answer.decision, answer.case, answer=answer)
    if outcome in (Outcome.COMMAND, Outcome.OVERVIEW):
        return Plan(outcome, why, chain)
    if outcome is Outcome.NOTICE:
        return Plan(outcome, why, chain, case=facts.case)
    if outcome is Outcome.THREAD:
        return Plan(outcome, why, chain, _thread(facts, why), facts.case)
    held = {"case": facts.case.reference, "matched_by": facts.case.matched_by} if facts.case else {}
    decision = to_admins(facts.decision, facts, why, outcome, **held)
    return Plan(outcome, why, chain, decision, facts.case)


def to_admins(
    decision: Decision, facts: Facts, why: str, outcome: Outcome = Outcome.TRIAGE, **fields
) -> Decision:
    """The decision turned into one for the administrators (triage or hold), with why."""
    ruleset = facts.ruleset
    admins = tuple(sorted(ruleset.directory[ruleset.triage_party].receivers))
    if outcome is Outcome.HOLD:
        fields["external_ref"] = None
    return dataclasses.replace(
        decision,
        decision=outcome,
        flow=None,
        to=admins,
        cc=(),
        municipality=None,
        reason=why,
        **fields,
    )


def _thread(facts: Facts, why: str) -> Decision:
    """A reply from a participant goes to the other side; an administrator's to both."""
    match, side, db = facts.case, facts.side, facts.stage.db
    sides = [participants.other(side)] if side else [participants.REPORTER, participants.RECEIVER]
    to = sorted({a for s in sides for a in participants.addresses(db, match.case_id, s)})
    return dataclasses.replace(
        facts.decision,
        decision=Outcome.THREAD,
        to=tuple(to),
        reason=why,
        case=match.reference,
        matched_by=match.matched_by,
        flow=None,
        municipality=None,
        cc=(),
        external_ref=None,
    )
