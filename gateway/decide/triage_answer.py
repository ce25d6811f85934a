"""What an administrator's answer to a triage note will do, worked out before it is done.

``#flyt b`` decides the message as flow b from its sender and mailbox (the rule for
flow b, with every rule that adds copies or urgency); ``#send kontakt.tt@…`` relays it
to a receiver that is a known party in rules.yaml (never an address from nowhere);
``#ignorer <why>`` ends it; ``#sak AVVIK-2026-0042`` adds it to that case. An answer
that cannot be carried out is refused with the reason, which its sender is told.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from email.message import EmailMessage

from gateway.case import participants
from gateway.decide.facts import Facts
from gateway.decide.yaml_rules import decide
from gateway.i18n import Phrases, command_words, in_every_language, phrases
from gateway.models import Decision, Outcome, ParsedMessage
from gateway.parse import UnparseableMessage, parse
from gateway.rules.base import Context, RuleSet
from gateway.rules.parties import MUNICIPALITY
from gateway.store import get_raw
from gateway.store import messages as stored
from gateway.store.cases import by_reference
from gateway.store.db import Database
from gateway.threads.match import CaseMatch

ACTIONS = command_words()["triage"]  # word -> flow, send, ignore or case
_COMMAND = re.compile(r"^\s*#(\w+)[ \t:]*(.*)$", re.MULTILINE)
_NOTE = re.compile(  # "[Til vurdering #17]", "[För bedömning #17]": any language's tag
    rf"(?:{'|'.join(map(re.escape, in_every_language('subjects.triage_note')))}) #(\d+)",
    re.IGNORECASE,
)


class TriageError(ValueError):
    """The decision cannot be carried out: ``key`` names the phrase of triage.yaml that
    says why, ``values`` fill it in."""

    def __init__(self, key: str, **values: object):
        super().__init__(phrases()(f"triage.{key}", **values))  # for a plain str(): nb
        self.key, self.values = key, values

    def shown(self, say: Phrases) -> str:
        return say(f"triage.{self.key}", **self.values)


@dataclass(frozen=True)
class Target:
    """The triaged message an answer decides."""

    row_id: int
    mailbox: str | None
    received_at: dt.datetime
    raw: bytes
    parsed: ParsedMessage


@dataclass(frozen=True)
class Answer:
    """An administrator's decision on a triaged message, checked; ``error`` if refused."""

    number: int
    who: str
    action: str | None = None
    value: str | None = None
    error: TriageError | None = None
    decision: Decision | None = None  # what becomes of the triaged message
    case: CaseMatch | None = None  # #sak: the case it joins
    target: Target | None = None

    def summary(self) -> str:
        if self.error:
            return f"triage decision by {self.who} refused: {self.error.key}"
        return f"triage decision by {self.who}: #{self.action} {self.value}"

    def as_json(self) -> dict:
        return {
            "number": self.number,
            "action": self.action,
            "value": self.value,
            "refused": self.error.key if self.error else None,
        }


def note_number(subject: str) -> int | None:
    """The message number in an answer to a triage note: '[Til vurdering #17] …'."""
    found = _NOTE.search(subject)
    return int(found.group(1)) if found else None


def parse_decision(text: str) -> tuple[str, str]:
    """The administrator's one-line decision: (action, value); raises TriageError."""
    for word, value in ((m.group(1).lower(), m.group(2).strip()) for m in _COMMAND.finditer(text)):
        if word in ACTIONS:
            if not value:
                raise TriageError("needs_value", word=word)
            return ACTIONS[word], value
    raise TriageError("no_command")


def plan_answer(facts: Facts) -> Answer:
    """The answer in this message, checked against the case log (nothing written)."""
    number, who = note_number(facts.msg.subject), facts.msg.from_addr
    try:
        action, value = parse_decision(facts.msg.new_text)
    except TriageError as exc:
        return Answer(number, who, error=exc)
    if facts.stage.db is None:  # gateway classify without a case log: not checked further
        return Answer(number, who, action, value)
    return answer_for(facts.stage.db, facts.ruleset, number, action, value, who)


def answer_for(
    db: Database, ruleset: RuleSet, number: int, action: str, value: str, who: str
) -> Answer:
    """An administrator's decision (by e-mail or ``gateway triage decide``), checked."""
    try:
        target = _target(db, number)
        decision, case = _decision(db, ruleset, target, action, value, who)
    except TriageError as exc:
        return Answer(number, who, action, value, error=exc)
    return Answer(number, who, action, value, None, decision, case, target)


def _target(db: Database, number: int) -> Target:
    row = stored.get(db, number)
    if row is None:
        raise TriageError("no_message", number=number)
    if row.direction != "in" or row.outcome not in ("triage", "hold"):
        raise TriageError("not_waiting", number=number, outcome=row.outcome)
    raw = get_raw(db, number)
    if raw is None:
        raise TriageError("purged", number=number)
    try:
        msg = parse(raw)
    except UnparseableMessage as exc:  # it parsed when it was triaged: bytes damaged since
        raise TriageError("purged", number=number) from exc
    return Target(number, row.mailbox, dt.datetime.fromisoformat(row.received_at), raw, msg)


def _decision(
    db: Database, ruleset: RuleSet, target: Target, action: str, value: str, who: str
) -> tuple[Decision | None, CaseMatch | None]:
    if action == "ignore":
        return None, None
    if action == "case":
        found = by_reference(db, value)
        if found is None:
            raise TriageError("no_case", reference=value)
        match = CaseMatch(
            found.case_id, found.reference, found.status, found.receiving_party, "administrator"
        )
        to = participants.addresses(db, found.case_id, participants.RECEIVER)
        decision = Decision(
            Outcome.THREAD,
            to=tuple(to),
            case=found.reference,
            matched_by="administrator",
            reason=f"Added to {found.reference} by {who}.",
        )
        return decision, match
    decide_as = _flow if action == "flow" else _send
    decision = decide_as(target, ruleset, value)
    why = f"Decided by {who}: #{action} {value}. {decision.reason}"
    return dataclasses.replace(decision, reason=why), None


def _flow(target: Target, ruleset: RuleSet, flow: str) -> Decision:
    """Decide with the rule for ``flow`` forced: it and the rules that only add remain."""
    chosen = next(
        (
            r
            for r in ruleset.rules
            if r.actions.decision == "relay" and r.actions.flow == flow.lower()
        ),
        None,
    )
    if chosen is None:
        raise TriageError("no_flow_rule", flow=flow)
    forced = dataclasses.replace(chosen, condition=lambda ctx: True)
    rules = tuple(
        forced if r is chosen else r for r in ruleset.rules if r is chosen or not r.actions.decision
    )
    forced_rules = dataclasses.replace(ruleset, rules=rules)
    decision = decide(target.parsed, forced_rules, target.mailbox, target.received_at)
    if decision.decision is not Outcome.RELAY:
        raise TriageError("flow_not_decided", flow=flow, why=decision.reason)
    return decision


def _send(target: Target, ruleset: RuleSet, value: str) -> Decision:
    """``#send ADDRESS [FLOW]``: relay to a known receiver, as FLOW, or as the one flow
    the rules give from this sender to that receiver (``inferred_flow``)."""
    address, _, flow = value.strip().lower().partition(" ")
    party = next((p for p in ruleset.directory.parties.values() if address in p.receivers), None)
    if party is None:
        raise TriageError("not_a_receiver", address=address)
    flow = flow.strip()
    if not flow:
        flow, choices = inferred_flow(target, ruleset, party.key, party.municipality)
        if flow is None and choices:  # never "flow: not decided" when one must be chosen
            choices = sorted(choices)
            raise TriageError("which_flow", address=address, flows=", ".join(choices),
                              first=choices[0])  # fmt: skip
    if flow and flow not in ruleset.flows:
        raise TriageError("no_flow_rule", flow=flow)
    base = decide(target.parsed, ruleset, target.mailbox, target.received_at)
    return dataclasses.replace(
        base,
        decision=Outcome.RELAY,
        flow=flow or None,
        to=(address,),
        cc=(),
        municipality=party.municipality,
        receiving_party=party.key,
    )


def inferred_flow(
    target: Target, ruleset: RuleSet, party: str, municipality: str | None
) -> tuple[str | None, set[str]]:
    """The flow when the rules give exactly one between the message's sender and this
    receiving party, and every flow whose relay rules send to the party (or to the
    municipality, for a municipality's receiver).

    The one flow is that of the rules among these that match a message from the same
    sender, naming only the receiving municipality, in any intake mailbox: the parties
    decide, not the words of the message (which named no municipality, or several, when
    it was triaged). None when no rule or several flows match: the administrator chooses.
    """
    probe = _probe(target.parsed.from_addr, municipality or "")
    flows, choices = set(), set()
    for rule in ruleset.rules:
        actions = rule.actions
        if actions.decision != "relay" or not actions.flow:
            continue
        if party not in actions.to and not (municipality and MUNICIPALITY in actions.to):
            continue
        choices.add(actions.flow)
        if actions.flow not in flows and any(
            rule.check(Context(probe, mailbox, target.received_at, ruleset))
            for mailbox in ruleset.mailboxes
        ):
            flows.add(actions.flow)
    return (flows.pop() if len(flows) == 1 else None), choices


def _probe(sender: str, text: str) -> ParsedMessage:
    """A message from ``sender`` that says only ``text``, for the rules to look at."""
    msg = EmailMessage()
    msg["From"] = sender or "unknown@invalid"
    msg.set_content(text or "-")
    return parse(msg.as_bytes())
