"""The decision loop: run the rules of rules.yaml over one message, and say why.

Rules run in file order. The first rule that sets a decision decides; later rules that
would set one are skipped, while rules that only add (a copy, urgency, kind) apply
whenever they match. ``stop: true`` ends the loop. Whatever is unclear ends in triage:
no rule decided, a relay with no receiver, a municipality that cannot be told.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re

from gateway.models import Decision, Outcome, ParsedMessage
from gateway.rules.base import Actions, Context, RuleSet
from gateway.rules.parties import MUNICIPALITY
from gateway.text import literal_start

log = logging.getLogger("gateway.decide")


def decide(msg: ParsedMessage, ruleset: RuleSet, mailbox: str | None, at: dt.datetime) -> Decision:
    """Decide one message arriving in ``mailbox`` at ``at``; no side effects."""
    ctx = Context(msg, mailbox, at, ruleset)
    rules: list[str] = []
    misses: list[str] = []
    deciding = None
    for rule in ruleset.rules:
        if rule.actions.decision and ctx.draft.decision is not None:
            continue
        hits = len(ctx.hits)
        if not rule.check(ctx):
            del ctx.hits[hits:]  # a built-in that matched inside a rule that did not
            misses.append(rule.name)
            continue
        rules += [*ctx.hits[hits:], rule.name]
        _apply(rule.actions, ctx)
        if rule.actions.decision:
            deciding = rule
        if rule.actions.stop:
            break
    result = _finish(ctx, deciding, rules, misses)
    log.debug(
        "%s: %s flow=%s rules=%s",
        result.decision.upper(),
        msg.message_id or "-",
        result.flow or "-",
        ",".join(result.rules),
    )
    return result


def _apply(actions: Actions, ctx: Context) -> None:
    draft = ctx.draft
    if actions.decision:
        draft.decision = Outcome(actions.decision)
    for name in ("flow", "kind", "urgent", "measures_days", "close_days", "escalate_days"):
        if getattr(actions, name) is not None:
            setattr(draft, name, getattr(actions, name))
    if actions.municipality == "sender" and ctx.sender is not None:
        draft.municipality = ctx.sender.municipality
    elif actions.municipality == "named" and len(ctx.named_municipalities) == 1:
        draft.municipality = ctx.named_municipalities[0]
    for target in actions.to:
        draft.receiving_party = draft.receiving_party or _party_key(target, ctx)
        draft.to.extend(_receivers(target, ctx))
    for target in actions.cc:
        draft.cc.extend(_receivers(target, ctx))
    if actions.reason:
        ctx.notes.append(actions.reason)


def _party_key(target: str, ctx: Context) -> str | None:
    if target == MUNICIPALITY:
        return f"{MUNICIPALITY}:{ctx.draft.municipality}" if ctx.draft.municipality else None
    return target


def _receivers(target: str, ctx: Context) -> list[str]:
    key = _party_key(target, ctx)
    party = ctx.ruleset.directory.parties.get(key) if key else None
    if party is None:
        ctx.notes.append(f"no receiver for {target!r}")
        return []
    return list(party.receivers)


def _finish(ctx: Context, deciding, rules: list[str], misses: list[str]) -> Decision:
    """The draft as a frozen Decision; whatever is unclear becomes triage."""
    draft, ruleset = ctx.draft, ctx.ruleset
    why, no_receiver = (deciding.description if deciding else ""), False
    if draft.decision is None:
        draft.decision, why = Outcome.TRIAGE, "No rule decided this message."
    if draft.decision is Outcome.RELAY and not draft.to:
        draft.decision, why = Outcome.TRIAGE, "The rules gave no receiver for this relay."
        no_receiver = True
    if draft.decision is not Outcome.RELAY:
        draft.flow = draft.municipality = draft.receiving_party = None
        draft.to, draft.cc = [], []
    if draft.decision is Outcome.TRIAGE:
        draft.to = list(ruleset.directory[ruleset.triage_party].receivers)
        draft.receiving_party = ruleset.triage_party
    to = sorted({a.lower() for a in draft.to})
    return Decision(
        decision=draft.decision,
        flow=draft.flow,
        to=tuple(to),
        cc=tuple(sorted({a.lower() for a in draft.cc} - set(to))),
        municipality=draft.municipality,
        kind=draft.kind,
        urgent=draft.urgent,
        external_ref=_external_ref(ctx) if draft.decision is not Outcome.IGNORE else None,
        rules=tuple(rules),
        misses=tuple(misses),
        reason=" ".join([why, *(f"({n})" for n in ctx.notes)]).strip(),
        sender_party=ctx.sender.key if ctx.sender else None,
        receiving_party=draft.receiving_party,
        measures_days=draft.measures_days,
        close_days=draft.close_days,
        escalate_days=draft.escalate_days,
        deciding_rule=deciding.name if deciding else None,
        no_receiver=no_receiver,
    )


@functools.lru_cache(maxsize=8)
def _any_of(patterns: tuple[re.Pattern[str], ...]) -> re.Pattern[str] | None:
    """One pattern for "does any of them match", so that the usual text without a
    reference is scanned once rather than once per pattern; None when a pattern has
    groups (joined, its back-references would point elsewhere)."""
    if not patterns or any(p.groups for p in patterns) or len({p.flags for p in patterns}) > 1:
        return None
    try:  # e.g. an inline flag, "(?m)^TQM", is only allowed at the start of a pattern
        return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), patterns[0].flags)
    except re.error:
        return None


@functools.lru_cache(maxsize=8)
def _starts(patterns: tuple[re.Pattern[str], ...]) -> tuple[str, ...] | None:
    """What each pattern's matches begin with, folded; None unless every one has that."""
    starts = tuple(literal_start(p) for p in patterns)
    return starts if patterns and all(starts) else None  # type: ignore[return-value]


def _external_ref(ctx: Context) -> str | None:
    """The reporter's own case number (TQM 55146, Asys-12345), subject first. A text
    whose folded form holds none of the patterns' starts ("tqm", "asys-") is not
    scanned at all: the usual report names no such number."""
    patterns = tuple(ctx.ruleset.external_refs)
    anyone, starts = _any_of(patterns), _starts(patterns)
    for where, text in (("subject", ctx.msg.subject), ("body", ctx.msg.new_text)):
        if starts is not None and not any(s in ctx.folded(where) for s in starts):
            continue
        if anyone is not None and anyone.search(text) is None:
            continue
        for pattern in ctx.ruleset.external_refs:
            if hit := pattern.search(text):
                return re.sub(r"\s+", " ", hit.group(0)).strip()
    return None
