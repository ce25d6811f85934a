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
    result = Decision(decision=None)  # type: ignore[arg-type] - set below
    ctx = Context(msg, mailbox, at, ruleset, result)
    result.sender_party = ctx.sender.key if ctx.sender else None
    deciding = None
    for rule in ruleset.rules:
        if rule.actions.decision and result.decision is not None:
            continue
        if not rule.check(ctx):
            result.misses.append(rule.name)
            continue
        result.rules.append(rule.name)
        _apply(rule.actions, ctx)
        if rule.actions.decision:
            deciding = rule
        if rule.actions.stop:
            break
    _finish(ctx, deciding.description if deciding else "")
    log.debug(
        "%s: %s flow=%s rules=%s",
        result.decision.upper(),
        msg.message_id or "-",
        result.flow or "-",
        ",".join(result.rules),
    )
    return result


def _apply(actions: Actions, ctx: Context) -> None:
    result = ctx.result
    if actions.decision:
        result.decision = Outcome(actions.decision)
    for name in ("flow", "kind", "urgent", "measures_days", "close_days", "escalate_days"):
        if getattr(actions, name) is not None:
            setattr(result, name, getattr(actions, name))
    if actions.municipality == "sender" and ctx.sender is not None:
        result.municipality = ctx.sender.municipality
    elif actions.municipality == "named" and len(ctx.named_municipalities) == 1:
        result.municipality = ctx.named_municipalities[0]
    for target in actions.to:
        result.receiving_party = result.receiving_party or _party_key(target, ctx)
        result.to.extend(_receivers(target, ctx))
    for target in actions.cc:
        result.cc.extend(_receivers(target, ctx))
    if actions.reason:
        ctx.notes.append(actions.reason)


def _party_key(target: str, ctx: Context) -> str | None:
    if target == MUNICIPALITY:
        return f"{MUNICIPALITY}:{ctx.result.municipality}" if ctx.result.municipality else None
    return target


def _receivers(target: str, ctx: Context) -> list[str]:
    key = _party_key(target, ctx)
    party = ctx.ruleset.directory.parties.get(key) if key else None
    if party is None:
        ctx.notes.append(f"no receiver for {target!r}")
        return []
    return list(party.receivers)


def _finish(ctx: Context, why: str) -> None:
    result, ruleset = ctx.result, ctx.ruleset
    if result.decision is None:
        result.decision, why = Outcome.TRIAGE, "No rule decided this message."
    if result.decision is Outcome.RELAY and not result.to:
        result.decision, why = Outcome.TRIAGE, "The rules gave no receiver for this relay."
    if result.decision is not Outcome.RELAY:
        result.flow = result.municipality = None
        result.to, result.cc = [], []
        result.receiving_party = None
    if result.decision is Outcome.TRIAGE:
        result.to = list(ruleset.directory[ruleset.triage_party].receivers)
        result.receiving_party = ruleset.triage_party
    if result.decision is not Outcome.IGNORE:
        result.external_ref = _external_ref(ctx)
    result.to = sorted({a.lower() for a in result.to})
    result.cc = sorted({a.lower() for a in result.cc} - set(result.to))
    result.reason = " ".join([why, *(f"({n})" for n in ctx.notes)]).strip()


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
