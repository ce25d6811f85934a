"""Why a message went to the administrators, in the deployment's language.

The triage note names what was found (the unknown domain, the municipalities named,
the case referred to), as a phrase an administrator understands, with the rule that
decided after it. The words are in ``templates/<lang>/phrases/reasons.yaml``.
"""

from __future__ import annotations

from gateway.decide.facts import Facts
from gateway.i18n import Phrases, phrases
from gateway.models import Decision
from gateway.rules.base import Context
from gateway.rules.dmarc import other_from_domain


def explain(facts: Facts, rule: str, decision: Decision) -> str:
    """The reason for a triage or hold, naming what was found, then the rule."""
    say = phrases(facts.ruleset.language)
    why = _CHAIN.get(rule, _rules_yaml)(facts, say, decision)
    deciding = decision.deciding_rule if rule == "rules-yaml" else rule
    return say("reasons.rule", why=why, rule=deciding or rule)


def names(found: list[str], say: Phrases) -> str:
    """ "A", "A og B", "A, B og C"."""
    if len(found) < 2:
        return "".join(found)
    return ", ".join(found[:-1]) + say("reasons.and") + found[-1]


def _domain(facts: Facts) -> str:
    return facts.msg.from_addr.rpartition("@")[2]


def _rules_yaml(facts: Facts, say: Phrases, decision: Decision) -> str:
    """What rules.yaml could not place: an unknown sender, a sender with no flow from
    that mailbox, no municipality or several, no receiver."""
    if not facts.msg.from_addr:
        return say("reasons.no_sender")
    if facts.sender is None:
        return say("reasons.unknown_domain", domain=_domain(facts))
    if decision.no_receiver:
        return say("reasons.no_receiver")
    if facts.ruleset.municipality_names:
        found = facts.named_municipalities
        if len(found) > 1:
            return say("reasons.names_many", names=say("reasons.both", names=names(found, say)))
        if not found and facts.sender.kind != "municipality":
            return say("reasons.names_none")
    if unclear := _unclear_topic(facts, say):
        return unclear
    mailbox = facts.mailbox or say("reasons.no_mailbox")
    return say("reasons.known_sender", party=facts.sender.name, mailbox=mailbox)


def _unclear_topic(facts: Facts, say: Phrases) -> str | None:
    """The first topic set (rules.yaml topics:) of which the message names no group or
    several, and which it names: "none or several" is why a topic rule triages."""
    ctx = Context(facts.msg, facts.mailbox, facts.at, facts.ruleset)
    for name, groups in facts.ruleset.topics.items():
        found = ctx.topic(name)
        if not found:
            return say("topics.none", set=name, groups=", ".join(groups))
        if len(found) > 1:
            return say("topics.many", set=name, names=names(found, say))
    return None


def _forged(facts: Facts, say: Phrases, decision: Decision) -> str:
    other = other_from_domain(facts.msg)
    if other is not None:
        return say("reasons.other_from", server=other, domain=_domain(facts) or "-")
    return say("reasons.forged", domain=_domain(facts))


def _ambiguous(facts: Facts, say: Phrases, decision: Decision) -> str:
    return say("reasons.ambiguous_from")


def _foreign(facts: Facts, say: Phrases, decision: Decision) -> str:
    return say("reasons.foreign_answer", sender=facts.msg.from_addr)


def _unknown_reference(facts: Facts, say: Phrases, decision: Decision) -> str:
    return say("reasons.unknown_reference", reference=facts.case_lookup[1])


def _outsider(facts: Facts, say: Phrases, decision: Decision) -> str:
    sender = facts.msg.from_addr or say("reasons.no_sender")
    return say("reasons.outsider", reference=facts.case.reference, sender=sender)


def _loop(facts: Facts, say: Phrases, decision: Decision) -> str:
    return say(
        "reasons.loop",
        sender=facts.msg.from_addr,
        count=facts.recent_replies,
        reference=facts.case.reference,
        limit=facts.stage.settings.loop_limit_per_hour,
    )


def _two_mailboxes(facts: Facts, say: Phrases, decision: Decision) -> str:
    boxes = facts.decisions_by_mailbox
    flows = sorted({d.flow or str(d.decision) for d in boxes.values()})
    return say("reasons.two_mailboxes", mailboxes=names(list(boxes), say), flows=names(flows, say))


_CHAIN = {
    "two-mailboxes": _two_mailboxes,
    "forged-sender": _forged,
    "ambiguous-sender": _ambiguous,
    "foreign-triage-answer": _foreign,
    "unknown-reference": _unknown_reference,
    "outsider-reply": _outsider,
    "loop-brake": _loop,
}
