"""A reply in a case: who may write, commands, reopening, and the relay to the other side.

``thread_decision`` runs after the rules (so automatic mail is still ignored) and turns a
message that belongs to a case into ``thread`` (from a participant) or ``hold`` (from
anyone else: never relayed, the administrators decide); a reference to a case that does
not exist is triage. ``record_reply`` then does everything in the caller's transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from mailparser_reply import EmailReplyParser
from sqlite_utils import Database

from gateway.cases import (
    Incoming,
    finish_message,
    local_time,
    redacted_event,
    to_admins,
    triage_note,
)
from gateway.followup import review
from gateway.models import Decision, Outcome, ParsedMessage
from gateway.outbox.queue import enqueue
from gateway.privacy.policy import deidentify, known_addresses, needs_redaction
from gateway.privacy.redact import redact_text
from gateway.references import strip_prefixes
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.store import event, now
from gateway.store import update as store_update
from gateway.text import new_text
from gateway.threads import participants
from gateway.threads.commands import Command, CommandError, parse_commands, without_commands
from gateway.threads.match import CaseMatch, find_case
from gateway.threads.outlook import thread_index
from gateway.threads.participants import RECEIVER, REPORTER

log = logging.getLogger("gateway.threads")
_REPLY_PARSER = EmailReplyParser(languages=["en", "da", "sv", "de"])  # da reads Norwegian


def reply_text(body: str) -> str:
    """The new text of a reply, for the case log; the full message stays on record.

    mail-parser-reply cuts the quoted history after a reply header in many languages;
    ``new_text`` then drops the ``>`` lines it leaves in place.
    """
    try:
        text = _REPLY_PARSER.parse_reply(body) or ""
    except Exception:  # a reply parser must never lose a message
        text = body
    return new_text(text).strip()


def admin_addresses(ruleset: RuleSet) -> set[str]:
    admins = ruleset.directory[ruleset.triage_party]
    return {a for a in (*admins.senders, *admins.receivers) if not a.startswith("*@")}


def thread_decision(
    db: Database, msg: ParsedMessage, ruleset: RuleSet, decision: Decision, loop_limit: int = 10
) -> tuple[Decision, CaseMatch | None]:
    """The decision for a message that may belong to a case (see module docstring)."""
    if decision.decision is Outcome.IGNORE:
        return decision, None
    match, missing = find_case(db, msg, ruleset.reference_prefix)
    if match is None:
        if missing:
            why = f"The message names {missing}, which is not in the case log."
            return to_admins(decision, ruleset, why), None
        return decision, None
    if match.status == "lukket" and ruleset.closed_cases == "new-case":
        return decision, match  # a new case, decided by the rules, that refers to the old one
    side = sender_side(db, match, msg.from_addr, ruleset)
    base = {
        "case": match.reference,
        "matched_by": match.matched_by,
        "flow": None,
        "municipality": None,
        "cc": [],
        "external_ref": None,
    }
    held = {"case": match.reference, "matched_by": match.matched_by, "external_ref": None}
    if side is None and msg.from_addr not in admin_addresses(ruleset):
        why = (
            f"A reply in {match.reference} (found by {match.matched_by}) from "
            f"{msg.from_addr or 'no sender'}, who does not take part in the case."
        )
        return to_admins(decision, ruleset, why, Outcome.HOLD, **held), match
    recent = db.execute(
        "SELECT COUNT(*) FROM messages WHERE direction = 'in' AND case_id = ? AND from_addr = ? "
        "AND outcome = 'thread' AND received_at > ?",
        [match.case_id, msg.from_addr, _hour_ago()],
    ).fetchone()[0]
    if recent >= loop_limit:
        why = (
            f"Loop brake: {msg.from_addr} has written {recent} messages into "
            f"{match.reference} in the last hour (limit {loop_limit}); held."
        )
        return to_admins(decision, ruleset, why, Outcome.HOLD, **held), match
    sides = [participants.other(side)] if side else [REPORTER, RECEIVER]
    to = sorted({a for s in sides for a in participants.addresses(db, match.case_id, s)})
    who = side or "admin"
    why = f"A reply in {match.reference} (found by {match.matched_by}) from the {who} side."
    return dataclasses.replace(decision, decision=Outcome.THREAD, to=to, reason=why, **base), match


def _hour_ago() -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(timespec="milliseconds")


def sender_side(db: Database, match: CaseMatch, address: str, ruleset: RuleSet) -> str | None:
    """The side a sender writes from: as a participant, or as anyone of the receiving
    party (the supplier's technicians write from their own addresses)."""
    if side := participants.side_of(db, match.case_id, address):
        return side
    party = ruleset.directory.sender(address)
    if party is not None and match.receiving_party and party.key == match.receiving_party:
        return RECEIVER
    return None


def _gateway_addresses(ruleset: RuleSet, renderer: Renderer) -> set[str]:
    return {*ruleset.mailboxes.values(), renderer.gateway_address.lower()}


def record_reply(
    db: Database,
    item: Incoming,
    decision: Decision,
    match: CaseMatch,
    ruleset: RuleSet,
    renderer: Renderer,
) -> None:
    """Write a thread reply (or hold it), in the caller's transaction."""
    msg, case_id = item.parsed, match.case_id
    new, subject = reply_text(msg.body), msg.subject
    policy = ruleset.privacy
    if not policy.keep_original and match.receiving_party in policy.redact_for:
        options = {
            "known_addresses": known_addresses(ruleset),
            "phones": policy.phone_numbers,
            "emails": policy.email_addresses,
        }
        new, subject = (redact_text(t, **options)[0] for t in (new, subject))
    finish_message(db, item, decision, case_id, subject, new)
    if decision.decision is Outcome.HOLD:
        _hold(db, item, decision, ruleset, renderer)
        return
    case = db["cases"].get(case_id)
    side = sender_side(db, match, msg.from_addr, ruleset)
    if side and participants.add(db, case_id, msg.from_addr, side, "party"):
        event(
            db,
            "participant-added",
            f"{msg.from_addr} ({side} side, of the receiving party)",
            case_id=case_id,
            message_id=item.row_id,
        )
    gateway = _gateway_addresses(ruleset, renderer)
    for address in (*msg.to, *msg.cc):
        if side and address not in gateway and participants.add(db, case_id, address, side, "cc"):
            event(
                db,
                "participant-added",
                f"{address} ({side} side)",
                case_id=case_id,
                message_id=item.row_id,
            )
    commands, errors = parse_commands(msg.new_text)
    if side is None and msg.from_addr not in admin_addresses(ruleset):
        commands, errors = [], []  # added to the case by an administrator: text, no commands
    if (commands or errors) and side == REPORTER:
        errors = [
            CommandError(c.verb, "bare mottakeren av saken kan endre den") for c in commands
        ] + errors
        commands = []
    reopen = case["status"] == "lukket" and not review.under_review(case)
    changes = _reopen(db, case, item.row_id) if reopen else []
    changes += _apply(db, case, commands, item.row_id)
    if side == RECEIVER and case["status"] == "registrert" and not commands:
        changes += _set(db, case, {"status": "under behandling"}, item.row_id, "første svar")
    if side == RECEIVER and not case.get("first_answer_at") and not _copied(db, case, msg):
        answered = item.received_at.isoformat(timespec="milliseconds")
        store_update(db, "cases", case_id, {"first_answer_at": answered})
    if case["status"] == "lukket" and case["urgent"]:
        review.open_review(db, db["cases"].get(case_id), ruleset, renderer, item.row_id)
    event(
        db,
        "thread",
        f"{decision.reason} Relayed to {', '.join(decision.to) or 'nobody'}.",
        case_id=case_id,
        message_id=item.row_id,
    )
    case = db["cases"].get(case_id)
    context = _context(case, ruleset) | {
        "sender": msg.from_addr,
        "sender_name": msg.from_name,
        "side": side or "admin",
        "changes": changes,
    }
    if errors:
        _send(
            db,
            renderer,
            "command_error.txt.j2",
            context | {"errors": errors},
            "command-error",
            [msg.from_addr],
            case,
            item,
            ruleset,
        )
    relayed = bool(without_commands(msg.new_text) or not commands) and bool(decision.to)
    if relayed:
        shown = deidentify(msg, ruleset) if needs_redaction(ruleset, decision.to) else None
        subject, text = (shown.subject, shown.text) if shown else (msg.subject, msg.body)
        _send(
            db,
            renderer,
            "reply.txt.j2",
            context
            | {
                "text": text,
                "subject": _subject(subject, case["reference"]),
                "removed": shown.summary() if shown else "",
                "personal_withheld": shown.withheld if shown else [],
            },
            "reply",
            decision.to,
            case,
            item,
            ruleset,
            attachments=True,
            skip=shown.skip if shown else frozenset(),
        )
        if shown:
            redacted_event(db, shown, case_id, item.row_id)
    if changes and not (relayed and side == RECEIVER):  # the relay shows them already
        reporters = participants.addresses(db, case_id, REPORTER)
        _send(db, renderer, "status.txt.j2", context, "status", reporters, case, item, ruleset)
    log.info(
        "thread %s by %s from %s side: %d change(s)",
        case["reference"],
        match.matched_by,
        side or "admin",
        len(changes),
    )


def _copied(db, case: dict, msg: ParsedMessage) -> bool:
    """A reply from someone who only had a copy (the on-call duty, the operations group):
    not the receiving party's answer, for the statistics' time to the first answer."""
    role = participants.role_of(db, case["id"], msg.from_addr)
    return role == "copy"


def _hold(db, item: Incoming, decision: Decision, ruleset: RuleSet, renderer: Renderer) -> None:
    triage_note(db, item, decision, ruleset, renderer)
    event(db, "held", decision.reason, case_id=None, message_id=item.row_id)
    log.warning("held message %s: not a participant of %s", item.row_id, decision.case)


def _set(db, case: dict, values: dict, row_id: int, why: str) -> list[str]:
    """Change a case; returns the changes as Norwegian lines for the notices."""
    changes = []
    labels = {"status": "Status", "severity": "Alvorlighet", "measure": "Tiltak"}
    for key, value in values.items():
        if case.get(key) != value and key in labels:
            changes.append(f"{labels[key]}: {value}")
            event(
                db,
                key,
                f"{case.get(key)} -> {value} ({why})",
                case_id=case["id"],
                message_id=row_id,
            )
    store_update(db, "cases", case["id"], {**values, "updated_at": now()})
    case.update(values)
    return changes


def _reopen(db, case: dict, row_id: int) -> list[str]:
    changes = _set(
        db,
        case,
        {"status": "under behandling", "closed_at": None},
        row_id,
        "gjenåpnet av ny melding",
    )
    event(
        db,
        "reopened",
        "a message arrived in the closed case",
        case_id=case["id"],
        message_id=row_id,
    )
    return [f"{c} (saken er gjenåpnet)" for c in changes]


def _apply(db, case: dict, commands: list[Command], row_id: int) -> list[str]:
    changes: list[str] = []
    for command in commands:
        if command.verb == "status":
            changes += _set(db, case, {"status": command.value}, row_id, "kommando")
        elif command.verb == "severity":
            changes += _set(db, case, {"severity": command.value}, row_id, "kommando")
        elif command.verb == "close":
            changes += _set(
                db,
                case,
                {"status": "lukket", "measure": command.value, "closed_at": now()},
                row_id,
                "kommando #lukk",
            )
    return changes


def _subject(subject: str, reference: str) -> str:
    subject = strip_prefixes(subject)
    return subject if reference.lower() in subject.lower() else f"[{reference}] {subject}"


def _context(case: dict, ruleset: RuleSet) -> dict:
    received = dt.datetime.fromisoformat(case["received_at"])
    return {
        "reference": case["reference"],
        "case_subject": case["subject"],
        "status": case["status"],
        "severity": case["severity"],
        "measure": case["measure"],
        "measures_due": dt.date.fromisoformat(case["measures_due"]).strftime("%d.%m.%Y"),
        "close_due": dt.date.fromisoformat(case["close_due"]).strftime("%d.%m.%Y"),
        "received": local_time(ruleset, received),
    }


def _send(
    db,
    renderer: Renderer,
    template: str,
    context: dict,
    purpose: str,
    to: list[str],
    case: dict,
    item: Incoming,
    ruleset: RuleSet,
    attachments: bool = False,
    skip: frozenset[str] = frozenset(),
) -> None:
    if not to:
        return
    started = dt.datetime.fromisoformat(case["received_at"])
    last = db.execute(
        "SELECT message_id FROM messages WHERE case_id = ? AND direction = 'out' "
        "ORDER BY id DESC LIMIT 1",
        [case["id"]],
    ).fetchone()
    first = db["messages"].get(case["first_message_id"])["message_id"]
    out = renderer.message(
        template,
        context,
        purpose=purpose,
        to=to,
        reference=case["reference"],
        reply_to=ruleset.mailboxes.get(case["mailbox"] or ""),
        original=item.parsed,
        attachments=attachments,
        skip=skip,
        case_id=case["id"],
        thread=(last[0] if last else first, [i for i in (first, last and last[0]) if i]),
        headers={
            "Thread-Topic": case["subject"] or case["reference"],
            "Thread-Index": thread_index(case["reference"], started, dt.datetime.now(dt.UTC)),
        },
    )
    enqueue(db, out)
