"""The case stage: record a decision, open the case, and queue what must go out.

Everything for one message happens in the caller's transaction: the message's end
state, the case with its tracking reference, the events, and the outbox rows. So after
a crash there is either all of it or none of it, and the message is simply decided again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass

from sqlite_utils import Database

from gateway.models import Decision, Outcome, ParsedMessage
from gateway.outbox.queue import enqueue
from gateway.privacy.policy import Deidentified, deidentify, needs_redaction
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.safety import is_executable
from gateway.store import event, insert, next_reference
from gateway.store import update as store_update
from gateway.threads import participants
from gateway.threads.outlook import thread_index


@dataclass(frozen=True)
class Incoming:
    """A stored incoming message as the pipeline hands it to this stage."""

    row_id: int
    mailbox: str | None
    received_at: dt.datetime  # aware, UTC
    raw: bytes
    parsed: ParsedMessage


def local_time(ruleset: RuleSet, at: dt.datetime) -> str:
    return ruleset.hours.local(at).strftime("%d.%m.%Y kl. %H:%M")


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
    store_update(
        db,
        "messages",
        item.row_id,
        {
            "state": "done",
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


def to_admins(
    decision: Decision, ruleset: RuleSet, why: str, outcome: Outcome = Outcome.TRIAGE, **fields
) -> Decision:
    """The decision turned into one for the administrators (triage or hold), with why."""
    admins = sorted(ruleset.directory[ruleset.triage_party].receivers)
    return dataclasses.replace(
        decision,
        decision=outcome,
        flow=None,
        to=admins,
        cc=[],
        municipality=None,
        reason=why,
        **fields,
    )


def triage_note(
    db: Database,
    item: Incoming,
    decision: Decision,
    ruleset: RuleSet,
    renderer: Renderer,
    deliver_for_hours: float = 48.0,
) -> None:
    """Queue the note that asks the administrators to decide, the original attached."""
    msg = item.parsed
    note = renderer.message(
        "triage.txt.j2",
        {
            "message_number": item.row_id,
            "subject": msg.subject,
            "mailbox": item.mailbox,
            "sender": msg.from_addr or "(ingen avsender)",
            "reason": decision.reason,
            "received": local_time(ruleset, item.received_at),
            "rules": decision.rules,
            "text": msg.body,
        },
        purpose="triage",
        to=decision.to,
        original=msg,
        attach_original=item.raw,
    )
    enqueue(db, note, deliver_for_hours)


def redacted_event(db: Database, shown: Deidentified, case_id: int, row_id: int) -> None:
    """On record that personal data was removed: counts and kinds, never the data."""
    if shown.findings or shown.withheld:
        event(
            db,
            "redacted",
            f"{shown.summary() or 'no text findings'}; "
            f"{len(shown.withheld)} attachment(s) held back",
            case_id=case_id,
            message_id=row_id,
        )


def record(
    db: Database,
    item: Incoming,
    decision: Decision,
    ruleset: RuleSet,
    renderer: Renderer,
    *,
    send_receipts: bool = True,
    deliver_for_hours: float = 48.0,
    related_reference: str | None = None,
    shown: Deidentified | None = None,
) -> str | None:
    """Write the outcome of one decided message; returns the case reference, if any.

    ``shown`` is the de-identified message when a receiver must not see personal data;
    worked out here when the caller has not done it already (outside its transaction).
    """
    msg = item.parsed
    reference = case_id = None
    if decision.decision is Outcome.RELAY:
        if shown is None and needs_redaction(ruleset, decision.to + decision.cc):
            shown = deidentify(msg, ruleset)
        reference, case_id = _open_case(
            db,
            item,
            decision,
            ruleset,
            renderer,
            send_receipts,
            deliver_for_hours,
            related_reference,
            shown,
        )
    elif decision.decision is Outcome.TRIAGE:
        triage_note(db, item, decision, ruleset, renderer, deliver_for_hours)
    keep = shown is None or ruleset.privacy.keep_original
    finish_message(
        db,
        item,
        decision,
        case_id,
        msg.subject if keep else shown.subject,
        msg.new_text if keep else shown.new_text,
    )
    detail = f"{decision.decision}: {decision.reason}"
    if decision.decision is not Outcome.RELAY:
        detail += f" (to {', '.join(decision.to)})" if decision.to else ""
    event(
        db,
        str(decision.decision) if decision.decision is not Outcome.RELAY else "decided",
        detail,
        case_id=case_id,
        message_id=item.row_id,
        rules=decision.rules,
    )
    return reference


def _open_case(
    db: Database,
    item: Incoming,
    decision: Decision,
    ruleset: RuleSet,
    renderer: Renderer,
    send_receipts: bool,
    deliver_for_hours: float,
    related_reference: str | None,
    shown: Deidentified | None,
):
    msg = item.parsed
    subject, text = (shown.subject, shown.text) if shown else (msg.subject, msg.body)
    skip = shown.skip if shown else frozenset()
    local = ruleset.hours.local(item.received_at)
    reference = next_reference(db, ruleset.reference_prefix, local.year)
    measures_days, close_days = ruleset.deadline_days(decision.flow)
    measures_due = ruleset.hours.add_working_days(
        local.date(), decision.measures_days or measures_days
    )
    close_due = ruleset.hours.add_working_days(local.date(), decision.close_days or close_days)
    escalate_due = (
        ruleset.hours.add_working_days(local.date(), decision.escalate_days)
        if decision.escalate_days
        else None
    )
    directory = ruleset.directory
    reporting = directory.parties.get(decision.sender_party or "")
    receiving = directory.parties.get(decision.receiving_party or "")
    case_id = insert(
        db,
        "cases",
        {
            "reference": reference,
            "flow": decision.flow,
            "kind": decision.kind,
            "status": "registrert",
            "severity": None,
            "urgent": int(decision.urgent),
            "reporting_party": decision.sender_party,
            "reporter_address": msg.from_addr,
            "receiving_party": decision.receiving_party,
            "municipality": decision.municipality,
            "mailbox": item.mailbox,
            "subject": msg.subject if not shown or ruleset.privacy.keep_original else subject,
            "received_at": item.received_at.isoformat(timespec="milliseconds"),
            "measures_due": measures_due.isoformat(),
            "close_due": close_due.isoformat(),
            "escalate_due": escalate_due.isoformat() if escalate_due else None,
            "external_ref": decision.external_ref,
            "rule_hits": json.dumps(decision.rules),
            "rule_misses": json.dumps(decision.misses),
            "first_message_id": item.row_id,
            "related_reference": related_reference,
            "updated_at": item.received_at.isoformat(timespec="milliseconds"),
        },
    )
    participants.add(db, case_id, msg.from_addr, participants.REPORTER, "reporter")
    for address in decision.to:
        participants.add(db, case_id, address, participants.RECEIVER, "receiver")
    for address in decision.cc:
        participants.add(db, case_id, address, participants.RECEIVER, "copy")
    context = {
        "reference": reference,
        "flow": decision.flow,
        "kind": decision.kind,
        "urgent": decision.urgent,
        "subject": subject,
        "reporter": msg.from_addr,
        "reporting_party": reporting.name if reporting else msg.from_addr,
        "receiving_party": receiving.name if receiving else ", ".join(decision.to),
        "received": local_time(ruleset, item.received_at),
        "measures_due": measures_due.strftime("%d.%m.%Y"),
        "close_due": close_due.strftime("%d.%m.%Y"),
        "external_ref": decision.external_ref,
        "text": text,
        "attachments": [
            a.filename
            for a in msg.attachments
            if not is_executable(a.filename) and a.filename not in skip
        ],
        "withheld": [a.filename for a in msg.attachments if is_executable(a.filename)],
        "personal_withheld": shown.withheld if shown else [],
        "removed": shown.summary() if shown else "",
        "related_reference": related_reference,
    }
    outlook = {
        "Thread-Topic": subject or reference,
        "Thread-Index": thread_index(reference, item.received_at),
    }
    reply_to = ruleset.mailboxes.get(item.mailbox or "")
    relay = renderer.message(
        "relay.txt.j2",
        context,
        purpose="relay",
        to=decision.to,
        cc=decision.cc,
        reply_to=reply_to,
        reference=reference,
        original=msg,
        attachments=True,
        headers={"X-Auto-Response-Suppress": "OOF, AutoReply"} | outlook,  # no OOF loops
        case_id=case_id,
        skip=skip,
    )
    enqueue(db, relay, deliver_for_hours)
    if shown:
        redacted_event(db, shown, case_id, item.row_id)
    event(
        db,
        "relay-queued",
        f"to {', '.join(relay.recipients)}",
        case_id=case_id,
        message_id=item.row_id,
    )
    if send_receipts and msg.from_addr:
        receipt = renderer.message(
            "receipt.txt.j2",
            context,
            purpose="receipt",
            to=[msg.from_addr],
            reply_to=reply_to,
            reference=reference,
            original=msg,
            case_id=case_id,
            headers={"Auto-Submitted": "auto-replied"} | outlook,
        )
        enqueue(db, receipt, deliver_for_hours)
    return reference, case_id
