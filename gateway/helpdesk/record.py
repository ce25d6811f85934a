"""Carry out a helpdesk notice: record it in its case, and do what the party's setting says.

An acknowledgement or status notice is relayed to the reporter only when rules.yaml says
``relay``; a "solved" notice sets the case to *til lukking* only with ``to-closing``;
a survey is only recorded. None of them reopens a closed case, counts as the party's first
answer, or opens a case: a notice that names no case is recorded without one.
"""

from __future__ import annotations

import dataclasses
import logging

from gateway.case import participants
from gateway.case.record import finish_message
from gateway.helpdesk import tickets
from gateway.helpdesk.notices import notice_kind
from gateway.i18n import phrases
from gateway.models import Decision, Incoming, Outcome
from gateway.privacy.policy import known_addresses
from gateway.privacy.redact import redact_text
from gateway.stage import StageContext
from gateway.store import event
from gateway.store.caselog import case_by_id
from gateway.store.states import CaseStatus
from gateway.threads import changes as changing
from gateway.threads.notify import case_context
from gateway.threads.reply import _relay, reply_text

log = logging.getLogger("gateway.helpdesk")


def record_notice(stage: StageContext, item: Incoming, reason: str, case_id: int | None) -> None:
    """Write a helpdesk notice (in the caller's transaction)."""
    msg, db, ruleset = item.parsed, stage.db, stage.rules
    party = tickets.from_helpdesk(ruleset, msg)
    kind = notice_kind(msg) or "status"
    setting = party.helpdesk.notice(kind) if party else "record"
    decision = Decision(Outcome.NOTICE, reason=reason, sender_party=party and party.key)
    case = case_by_id(db, case_id) if case_id is not None else None
    finish_message(db, item, decision, case_id, *_logged(stage, msg, case))
    detail = f"{kind} from {party.name if party else msg.from_addr} ({msg.from_addr}): {setting}"
    event(db, "helpdesk-notice", detail, case_id=case_id, message_id=item.row_id)
    if case is None:
        log.info("helpdesk notice %s in no case (message %s)", kind, item.row_id)
        return
    tickets.note(db, ruleset, case.id, msg, item.row_id)
    if setting == "to-closing" and case.status in (CaseStatus.REGISTERED, CaseStatus.IN_PROGRESS):
        say = phrases(ruleset.language)
        values = {"status": CaseStatus.TO_CLOSE}
        changing.set_fields(db, case, values, item.row_id, f"helpdesk {kind} notice", say)
    elif setting == "relay":
        reporters = participants.addresses(db, case.id, participants.REPORTER)
        relay = dataclasses.replace(decision, to=tuple(reporters), case=case.reference)
        who = {"sender": msg.from_addr, "sender_name": msg.from_name}
        context = case_context(case, ruleset) | who | {"side": "receiver", "changes": []}
        _relay(stage, item, relay, case, context)
    log.info("helpdesk notice %s in %s: %s", kind, case.reference, setting)


def _logged(stage: StageContext, msg, case) -> tuple[str, str]:
    """Subject and new text for the case log, de-identified like a reply's would be."""
    text, subject, policy = reply_text(msg.body), msg.subject, stage.rules.privacy
    if case is not None and not policy.keep_original and case.receiving_party in policy.redact_for:
        options = {"known_addresses": known_addresses(stage.rules),
                   "phones": policy.phone_numbers, "emails": policy.email_addresses}  # fmt: skip
        text, subject = (redact_text(t, **options)[0] for t in (text, subject))
    return subject, text
