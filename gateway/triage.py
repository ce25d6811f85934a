"""Triage by the administrators: decide what the rules left to them, by e-mail or CLI.

``#flyt b`` decides the message as flow b from its sender and mailbox (the rule for
flow b, with every rule that adds copies or urgency); ``#send kontakt.tt@…`` relays it
to a receiver that is a known party in rules.yaml (never an address from nowhere);
``#ignorer <why>`` ends it; ``#sak AVVIK-2026-0042`` adds it to that case. The message
then goes on as if the rules had decided it, with the administrator's decision on record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from sqlite_utils import Database

from gateway.cases import Incoming, record, to_admins
from gateway.decide import decide
from gateway.models import Decision, Outcome
from gateway.parse import parse
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.settings import Settings
from gateway.store import event, get_raw
from gateway.threads.match import CaseMatch
from gateway.threads.reply import record_reply

ACTIONS = {
    "flyt": "flow",
    "flow": "flow",
    "send": "send",
    "ignorer": "ignore",
    "ignore": "ignore",
    "sak": "case",
    "case": "case",
}
_COMMAND = re.compile(r"^\s*#(\w+)[ \t:]*(.*)$", re.MULTILINE)
_NOTE = re.compile(r"til vurdering #(\d+)", re.IGNORECASE)


class TriageError(ValueError):
    """The decision cannot be carried out; the message says why, in Norwegian."""


def note_number(subject: str) -> int | None:
    """The message number in an answer to a triage note: '[Til vurdering #17] …'."""
    found = _NOTE.search(subject)
    return int(found.group(1)) if found else None


def parse_decision(text: str) -> tuple[str, str]:
    """The administrator's one-line decision: (action, value); raises TriageError."""
    for word, value in ((m.group(1).lower(), m.group(2).strip()) for m in _COMMAND.finditer(text)):
        if word in ACTIONS:
            if not value:
                raise TriageError(f"#{word} må følges av en verdi")
            return ACTIONS[word], value
    raise TriageError("fant ingen kommando (#flyt, #send, #ignorer eller #sak)")


def refuse_triage_command(decision: Decision, ruleset: RuleSet) -> Decision:
    """An answer to a triage note from someone who is not an administrator: never obeyed,
    never relayed (it may quote the triaged message); the administrators see it."""
    why = "An answer to a triage note from someone who is not an administrator: refused."
    return to_admins(decision, ruleset, why)


def waiting(db: Database) -> list[dict]:
    """Triaged and held messages no administrator has decided yet."""
    return list(
        db.query(
            "SELECT id, received_at, mailbox, from_addr, subject, outcome, reason FROM messages "
            "WHERE direction = 'in' AND outcome IN ('triage', 'hold') ORDER BY id"
        )
    )


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
    """Carry out an administrator's decision (call inside ``write(db)``); returns a summary."""
    row = db["messages"].get(row_id)
    if row["direction"] != "in" or row["outcome"] not in ("triage", "hold"):
        raise TriageError(f"melding {row_id} venter ikke på vurdering ({row['outcome']})")
    raw = get_raw(db, row_id)
    if raw is None:
        raise TriageError(f"melding {row_id} er slettet (lagringstiden er ute)")
    msg = parse(raw)
    received = dt.datetime.fromisoformat(row["received_at"])
    item = Incoming(row_id, row["mailbox"], received, raw, msg)
    event(db, "admin-decision", f"#{action} {value} by {who}", message_id=row_id)
    if action == "ignore":
        db["messages"].update(row_id, {"outcome": "ignore", "reason": f"ignored by {who}: {value}"})
        return f"melding {row_id} ignorert"
    if action == "case":
        case = db.execute(
            "SELECT id, reference, status, receiving_party FROM cases WHERE reference = ?",
            [value.upper()],
        ).fetchone()
        if case is None:
            raise TriageError(f"saken {value} finnes ikke")
        match = CaseMatch(*case, matched_by="administrator")
        to = [
            r[0]
            for r in db.execute(
                "SELECT address FROM participants WHERE case_id = ? AND side = 'receiver'",
                [case[0]],
            )
        ]
        decision = Decision(
            Outcome.THREAD,
            to=to,
            case=case[1],
            matched_by="administrator",
            reason=f"Added to {case[1]} by {who}.",
        )
        record_reply(db, item, decision, match, ruleset, renderer)
        return f"melding {row_id} lagt til sak {case[1]}"
    decision = (
        _flow(msg, ruleset, row, received, value)
        if action == "flow"
        else _send(msg, ruleset, row, received, value)
    )
    decision.reason = f"Decided by {who}: #{action} {value}. {decision.reason}"
    reference = record(
        db,
        item,
        decision,
        ruleset,
        renderer,
        send_receipts=settings.send_receipts,
        deliver_for_hours=settings.deliver_for_hours,
    )
    return f"melding {row_id} sendt videre som {reference}"


def _flow(msg, ruleset: RuleSet, row: dict, received, flow: str) -> Decision:
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
        raise TriageError(f"ingen regel sender flyt {flow!r} videre")
    forced = dataclasses.replace(chosen, condition=lambda ctx: True)
    rules = tuple(
        forced if r is chosen else r for r in ruleset.rules if r is chosen or not r.actions.decision
    )
    decision = decide(msg, dataclasses.replace(ruleset, rules=rules), row["mailbox"], received)
    if decision.decision is not Outcome.RELAY:
        raise TriageError(f"flyt {flow} kan ikke avgjøres for denne meldingen: {decision.reason}")
    return decision


def _send(msg, ruleset: RuleSet, row: dict, received, address: str) -> Decision:
    address = address.strip().lower()
    party = next((p for p in ruleset.directory.parties.values() if address in p.receivers), None)
    if party is None:
        raise TriageError(f"{address} er ikke en mottaker i rules.yaml")
    base = decide(msg, ruleset, row["mailbox"], received)  # for kind, urgency, references
    return dataclasses.replace(
        base,
        decision=Outcome.RELAY,
        flow=None,
        to=[address],
        cc=[],
        municipality=party.municipality,
        receiving_party=party.key,
    )
