"""Record one planned message: its end state, its case or triage note, and the event."""

from __future__ import annotations

from gateway.case.common import local_time
from gateway.case.opening import open_case
from gateway.i18n import phrases
from gateway.models import Decision, Incoming, Outcome
from gateway.outbox.queue import enqueue
from gateway.privacy import confidential
from gateway.privacy.policy import Deidentified, deidentify, needs_redaction
from gateway.stage import StageContext
from gateway.store import event
from gateway.store import messages as stored
from gateway.store.db import Database


def finish_message(
    db: Database,
    item: Incoming,
    decision: Decision,
    case_id: int | None,
    subject: str,
    new_text: str,
) -> None:
    """Write the end state of a decided message, with what the case log may show of it."""
    msg = item.parsed
    stored.finish(
        db,
        item.row_id,
        {
            "outcome": str(decision.decision),
            "reason": decision.reason,
            "case_id": case_id,
            "from_addr": msg.from_addr,
            "to_addrs": ", ".join(msg.to),
            "subject": subject,
            "in_reply_to": msg.in_reply_to,
            "refs": " ".join(msg.references),
            "new_text": new_text,
            "defects": ", ".join(msg.defects) or None,
        },
    )


def triage_note(stage: StageContext, item: Incoming, decision: Decision) -> None:
    """Queue the note that asks the administrators to decide, the original attached."""
    msg, ruleset = item.parsed, stage.rules
    note = stage.renderer.message(
        "triage.txt.j2",
        {
            "message_number": item.row_id,
            "subject": msg.subject,
            "mailbox": item.mailbox,
            "sender": msg.from_addr or phrases(ruleset.language)("common.no_sender"),
            "reason": decision.explanation or decision.reason,
            "received": local_time(ruleset, item.received_at),
            "rules": list(decision.rules),
            "text": msg.body,
        },
        purpose="triage",
        to=decision.to,
        reply_to=ruleset.mailboxes.get(item.mailbox or ""),  # Reply reaches the gateway
        original=msg,
        attach_original=item.raw,
    )
    enqueue(stage.db, note, stage.settings.deliver_for_hours)


def record(
    stage: StageContext,
    item: Incoming,
    decision: Decision,
    *,
    related_reference: str | None = None,
    shown: Deidentified | None = None,
) -> str | None:
    """Write the outcome of one decided message; returns the case reference, if any.

    ``shown`` is the de-identified message when a receiver must not see personal data;
    worked out here when the caller has not done it already (outside its transaction).
    """
    msg, ruleset, db = item.parsed, stage.rules, stage.db
    reference = case_id = None
    if decision.decision is Outcome.RELAY:
        if shown is None and needs_redaction(ruleset, decision.to + decision.cc):
            shown = deidentify(msg, ruleset)
        secret = confidential.requested(msg)  # #konfidensiell: the reporter unnamed
        if secret:
            who = confidential.reporter([msg.from_addr], [msg.from_name])
            shown = confidential.conceal(msg, ruleset, who, shown)
        reference, case_id = open_case(
            stage, item, decision, related_reference=related_reference, shown=shown,
            confidential=secret,
        )  # fmt: skip
    elif decision.decision is Outcome.TRIAGE:
        triage_note(stage, item, decision)
    keep = shown is None or (ruleset.privacy.keep_original and not confidential.requested(msg))
    subject, text = (msg.subject, msg.new_text) if keep else (shown.subject, shown.new_text)
    finish_message(db, item, decision, case_id, subject, text)
    _decided_event(db, item, decision, case_id)
    return reference


def _decided_event(db: Database, item: Incoming, decision: Decision, case_id) -> None:
    detail = f"{decision.decision}: {decision.reason}"
    relay = decision.decision is Outcome.RELAY
    if not relay and decision.to:
        detail += f" (to {', '.join(decision.to)})"
    kind = "decided" if relay else str(decision.decision)
    rules = list(decision.rules)
    event(db, kind, detail, case_id=case_id, message_id=item.row_id, rules=rules)
