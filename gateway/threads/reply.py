"""A reply in a case: who may write, commands, reopening, and the relay to the other side.

The chain (``gateway/decide/chain.py``) has already said ``thread`` (a participant) or
``hold`` (anyone else: never relayed, the administrators decide). ``record_reply``
then does everything in the caller's transaction, as a sequence of small steps.
"""

from __future__ import annotations

import logging

from mailparser_reply import EmailReplyParser

from gateway.case import participants
from gateway.case.common import redacted_event
from gateway.case.participants import RECEIVER, REPORTER
from gateway.case.record import finish_message, triage_note
from gateway.followup import review
from gateway.helpdesk import tickets
from gateway.i18n import Phrases, phrases
from gateway.models import Decision, Incoming, Outcome, ParsedMessage
from gateway.privacy import confidential
from gateway.privacy.policy import deidentify, known_addresses, needs_redaction, redacted
from gateway.privacy.redact import redact_text
from gateway.rules.base import RuleSet
from gateway.stage import StageContext
from gateway.store import cases as stored
from gateway.store import event
from gateway.store.caselog import CaseRow, case_by_id
from gateway.store.db import Database
from gateway.store.states import CaseStatus
from gateway.text import new_text
from gateway.threads import changes as changing
from gateway.threads import record_apply, record_rights
from gateway.threads import record_notices as closing
from gateway.threads.commands import parse_commands, without_commands
from gateway.threads.match import CaseMatch
from gateway.threads.notify import case_context, reply_subject, send

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


def record_reply(stage: StageContext, item: Incoming, decision: Decision, match: CaseMatch) -> None:
    """Write a thread reply (or hold it), in the caller's transaction."""
    msg, db, ruleset = item.parsed, stage.db, stage.rules
    finish_message(db, item, decision, match.case_id, *_logged(msg, match, ruleset))
    if decision.decision is Outcome.HOLD:
        triage_note(stage, item, decision)
        event(db, "held", decision.reason, case_id=None, message_id=item.row_id)
        log.warning("held message %s: not a participant of %s", item.row_id, decision.case)
        return
    say = phrases(ruleset.language)
    side = participants.sender_side(
        db, match.case_id, match.receiving_party, msg.from_addr, ruleset
    )
    _join(stage, item, match.case_id, side)
    tickets.note(db, ruleset, match.case_id, msg, item.row_id)
    case = case_by_id(db, match.case_id)
    commands, errors = _commands(msg, side, ruleset, say)
    changes, case, applied = _change(db, case, item, side, commands, say, ruleset)
    errors = [*errors, *applied.refused]
    if case.status == CaseStatus.CLOSED and case.urgent:
        review.open_review(db, case, ruleset, stage.renderer, item.row_id)
    relayed_to = ", ".join(decision.to) or "nobody"
    event(db, "thread", f"{decision.reason} Relayed to {relayed_to}.", case_id=case.id,
          message_id=item.row_id)  # fmt: skip
    case = case_by_id(db, case.id)
    context = (
        case_context(case, ruleset)
        | closing.record_context(db, case)
        | {
            "sender": msg.from_addr,
            "sender_name": msg.from_name,
            "side": side or "admin",
            "changes": changes,
        }
    )
    _notify(stage, item, decision, case, context, applied.done, errors, say)
    closing.ask_to_confirm(stage, item, case, context, applied.ask_confirm)
    log.info("thread %s by %s from %s side: %d change(s)", case.reference, match.matched_by,
             side or "admin", len(changes))  # fmt: skip


def _logged(msg: ParsedMessage, match: CaseMatch, ruleset: RuleSet) -> tuple[str, str]:
    """The subject and new text the case log keeps: de-identified when the case goes to
    a party that must not see personal data and the log keeps no originals."""
    new, subject = reply_text(msg.body), msg.subject
    policy = ruleset.privacy
    if not policy.keep_original and match.receiving_party in policy.redact_for:
        options = {
            "known_addresses": known_addresses(ruleset),
            "phones": policy.phone_numbers,
            "emails": policy.email_addresses,
        }
        new, subject = (redact_text(t, **options)[0] for t in (new, subject))
    return subject, new


def _join(stage: StageContext, item: Incoming, case_id: int, side: str | None) -> None:
    """The sender, and whoever a participant put on To or Cc, join the sender's side."""
    if not side:
        return
    msg, db = item.parsed, stage.db
    readable = tickets.may_receive(stage.rules, msg.from_addr)  # not a ticket system's
    if readable and participants.add(db, case_id, msg.from_addr, side, "party"):
        detail = f"{msg.from_addr} ({side} side, of the receiving party)"
        event(db, "participant-added", detail, case_id=case_id, message_id=item.row_id)
    gateway = {*stage.rules.mailboxes.values(), stage.renderer.gateway_address.lower()}
    for address in (*msg.to, *msg.cc):
        if address in gateway or not tickets.may_receive(stage.rules, address):
            continue
        if participants.add(db, case_id, address, side, "cc"):
            detail = f"{address} ({side} side)"
            event(db, "participant-added", detail, case_id=case_id, message_id=item.row_id)


def _commands(msg: ParsedMessage, side, ruleset: RuleSet, say: Phrases):
    """The commands the sender may give, and the lines refused with why."""
    commands, errors = parse_commands(msg.new_text)
    if side is None and msg.from_addr not in participants.admin_addresses(ruleset):
        return [], []  # added to the case by an administrator: text, no commands
    if side == RECEIVER or side is None:
        return commands, errors
    allowed, refused = record_rights.permitted(commands, side, ruleset)
    return allowed, refused + errors


def _change(db: Database, case: CaseRow, item: Incoming, side, commands, say, ruleset):
    """Reopen, apply the commands, and count the receiving party's first answer."""
    changes: list[str] = []
    if case.status == CaseStatus.CLOSED and not review.under_review(case):
        changes, case = changing.reopen(db, case, item.row_id, say)
    who = record_apply.Sender(item.parsed.from_addr, side, item.row_id)
    applied = record_apply.apply(db, ruleset, case, commands, who, say)
    changes, case = changes + list(applied.changes), applied.case
    if side == RECEIVER and case.status == CaseStatus.REGISTERED and not applied.plain:
        values = {"status": CaseStatus.IN_PROGRESS}
        more, case = changing.set_fields(db, case, values, item.row_id, "first answer", say)
        changes += more
    copied = participants.role_of(db, case.id, item.parsed.from_addr) == "copy"
    if side == RECEIVER and not case.first_answer_at and not copied:
        # a copy (the on-call duty, the operations group) is not the receiving party's answer
        answered = item.received_at.isoformat(timespec="milliseconds")
        stored.update_case(db, case.id, {"first_answer_at": answered})
    return changes, case, applied


def _notify(stage: StageContext, item, decision, case, context, commands: int, errors,
            say) -> None:  # fmt: skip
    """Command errors to the sender, the relay to the other side, status to the reporter."""
    msg, side = item.parsed, context["side"]
    if errors:
        lines = [e.shown(say) for e in errors]
        send(stage, "command_error.txt.j2", context | {"errors": lines}, "command-error",
             [msg.from_addr], case, item)  # fmt: skip
    relayed = bool(without_commands(msg.new_text) or not commands) and bool(decision.to)
    if relayed:
        _relay(stage, item, decision, case, context)
    if context["changes"] and not (relayed and side == RECEIVER):  # the relay shows them
        reporters = participants.addresses(stage.db, case.id, REPORTER)
        send(stage, "status.txt.j2", context, "status", reporters, case, item)
    if context["changes"] and not relayed and case.status == CaseStatus.CLOSED:
        informed = closing.informed_of(stage, case, item, None)
        send(stage, "status.txt.j2", context, "information", informed, case, item)
    if context["changes"] and not relayed and side not in (RECEIVER, "admin"):
        closing.tell_receivers(stage, item, case, context)  # the reporter's #bekreft ...


def _own_words(language: str) -> tuple[str, ...]:
    """The words the gateway puts in front of its own subjects (threads.yaml)."""
    return tuple(w.strip() for w in phrases(language)("threads.own_subject_words").split("|"))


def _relay(stage: StageContext, item, decision, case: CaseRow, context) -> None:
    """The answer's new text first, its command lines out (the changes they made are
    listed; a refused one made none), the quoted history out of the body. The full
    original goes along as an attached message, unless the receivers may not see
    personal data: then it stays in the case log (they have the earlier messages)."""
    msg, ruleset = item.parsed, stage.rules
    shown = deidentify(msg, ruleset) if needs_redaction(ruleset, decision.to) else None
    if case.confidential and context["side"] != RECEIVER:  # the reporter's side writes
        who = confidential.reporter(
            [case.reporter_address, msg.from_addr], [case.reporter_name, msg.from_name]
        )
        shown = confidential.conceal(msg, ruleset, who, shown)
    subject, text = (shown.subject, shown.text) if shown else (msg.subject, msg.body)
    extra = {
        "text": without_commands(reply_text(text)),
        "original_attached": shown is None,
        "subject": reply_subject(subject, case.reference, _own_words(ruleset.language)),
        "removed": shown.summary() if shown else "",
        "personal_withheld": [n for n in shown.withheld if n not in shown.unreadable]
        if shown
        else [],
        "unreadable_withheld": shown.unreadable if shown else [],
    }
    if case.confidential and context["side"] != RECEIVER:  # named by the label only
        extra["sender"] = stage.rules.mailboxes.get(case.mailbox or "") or ""
        extra["removed"] = confidential.relay_context({}, ruleset, msg, shown)["removed"]
    if shown:  # the header block names the sender, and the case by its subject
        extra["sender_name"] = shown.from_name
        extra["case_subject"] = redacted(context.get("case_subject") or "", ruleset)
    send(stage, "reply.txt.j2", context | extra, "reply", list(decision.to), case, item,
         attachments=True, skip=shown.skip if shown else frozenset(),
         attach_original=None if shown else item.raw)  # fmt: skip
    informed = closing.informed_of(stage, case, item, decision)
    send(stage, "reply.txt.j2", context | extra | {"informed": True}, "information", informed,
         case, item, skip=shown.skip if shown else frozenset())  # fmt: skip
    if shown:
        redacted_event(stage.db, shown, case.id, item.row_id)
