"""Open a case for a relayed report: reference, deadlines, participants, relay, receipt.

Each step is a small function; ``open_case`` runs them in order, in the caller's
transaction. What the receiver and the reporter read comes from the templates
``relay.txt.j2`` and ``receipt.txt.j2`` with one context built here.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, replace

from gateway.case import participants
from gateway.case.common import attachment_lists, local_date, local_time, redacted_event
from gateway.case.informed import INFORMED, informed_addresses
from gateway.case.severity import from_report as severity_from_report
from gateway.helpdesk import tickets
from gateway.hours import ServiceHours
from gateway.models import Decision, Incoming, Outgoing
from gateway.outbox.queue import enqueue
from gateway.privacy import confidential as secret
from gateway.privacy.outgoing import guard
from gateway.privacy.policy import Deidentified
from gateway.rules.base import RuleSet
from gateway.rules.suggestions import SUGGESTION
from gateway.stage import StageContext
from gateway.store import event, next_reference
from gateway.store.cases import NewCase, insert_case, update_case
from gateway.store.db import Database
from gateway.threads.outlook import thread_index


@dataclass(frozen=True)
class Deadlines:
    measures: dt.date | None  # None: an improvement suggestion that no rule gave one
    close: dt.date | None
    escalate: dt.date | None


def open_case(
    stage: StageContext,
    item: Incoming,
    decision: Decision,
    *,
    related_reference: str | None = None,
    shown: Deidentified | None = None,
    confidential: bool = False,
) -> tuple[str, int]:
    """Open the case and queue its relay (and receipt); returns (reference, case id).
    ``confidential``: the reporter asked not to be named (``shown`` is concealed)."""
    db, ruleset, renderer, settings = stage.db, stage.rules, stage.renderer, stage.settings
    deliver_for_hours = settings.deliver_for_hours
    local = ruleset.hours.local(item.received_at)
    prefix = ruleset.suggestion_prefix if decision.kind == SUGGESTION else ruleset.reference_prefix
    reference = next_reference(db, prefix, local.year)
    due = deadlines(ruleset, decision, local.date())
    new = _new_case(item, decision, ruleset, reference, due, related_reference, shown)
    if confidential:
        new = replace(new, confidential=True, reporter_name=item.parsed.from_name or None)
    case_id = insert_case(db, new)
    if severity := severity_from_report(ruleset, item.parsed.new_text):  # record: severity:
        update_case(db, case_id, {"severity": severity})
        event(db, "severity", f"{severity} (from the report)", case_id=case_id)
    _add_participants(db, ruleset, case_id, item, decision)
    noted = tickets.note(db, ruleset, case_id, item.parsed, item.row_id)  # a desk's new ticket
    context = receipt_context = _context(item, decision, ruleset, new, due, shown)
    hidden, relayed = None, item
    if confidential and shown is not None:
        hidden = secret.reporter([item.parsed.from_addr], [item.parsed.from_name])
        relayed = replace(item, parsed=secret.anonymous(item.parsed))
        context = secret.relay_context(context, ruleset, item.parsed, shown)
        receipt_context = secret.receipt_context(receipt_context, ruleset, item.parsed)
        event(db, "confidential", "the reporter is not named to the receivers", case_id=case_id)
    relay = _relay(renderer, relayed, decision, ruleset, context, case_id, shown)
    guard(relay, ruleset, known=[item.parsed.from_addr], hidden=hidden)  # fail closed
    enqueue(db, relay, deliver_for_hours)
    if shown:
        redacted_event(db, shown, case_id, item.row_id)
    detail = f"to {', '.join(relay.recipients)}"
    event(db, "relay-queued", detail, case_id=case_id, message_id=item.row_id)
    to = participants.addresses(db, case_id, participants.REPORTER)
    if settings.send_receipts and item.parsed.from_addr and to:
        tag = tickets.subject_tags(db, ruleset, case_id, to) if noted else ""
        receipt = _receipt(renderer, item, ruleset, receipt_context, case_id, to, tag)
        enqueue(db, receipt, deliver_for_hours)
    return reference, case_id


def deadlines(ruleset: RuleSet, decision: Decision, day: dt.date) -> Deadlines:
    """The case's deadlines in working days from arrival: the rule's, else the flow's.
    An improvement suggestion is no deviation to be closed in time: it has only the
    deadlines a rule gives it."""
    measures_days, close_days = ruleset.deadline_days(decision.flow)
    if decision.kind == SUGGESTION:
        measures_days = close_days = None
    add = functools.partial(working_days_after, ruleset.hours)
    escalate = add(day, decision.escalate_days) if decision.escalate_days else None
    measures = decision.measures_days or measures_days
    close = decision.close_days or close_days
    return Deadlines(
        add(day, measures) if measures else None, add(day, close) if close else None, escalate
    )


@functools.lru_cache(maxsize=512)
def working_days_after(hours: ServiceHours, day: dt.date, days: int) -> dt.date:
    """``hours.add_working_days``, remembered: the reports of a day ask for the same few
    deadlines, and each walks day by day, looking up every day's holidays."""
    return hours.add_working_days(day, days)


def _new_case(item, decision, ruleset, reference, due, related_reference, shown) -> NewCase:
    msg = item.parsed
    keep = not shown or (ruleset.privacy.keep_original and not secret.requested(msg))
    return NewCase(
        reference=reference,
        flow=decision.flow,
        kind=decision.kind,
        urgent=decision.urgent,
        reporting_party=decision.sender_party,
        reporter_address=msg.from_addr,
        receiving_party=decision.receiving_party,
        municipality=decision.municipality,
        mailbox=item.mailbox,
        subject=msg.subject if keep else shown.subject,
        received_at=item.received_at.isoformat(timespec="milliseconds"),
        measures_due=due.measures.isoformat() if due.measures else None,
        close_due=due.close.isoformat() if due.close else None,
        escalate_due=due.escalate.isoformat() if due.escalate else None,
        external_ref=decision.external_ref,
        rule_hits=decision.rules,
        rule_misses=decision.misses,
        first_message_id=item.row_id,
        related_reference=related_reference,
    )


def _add_participants(
    db: Database, ruleset: RuleSet, case_id: int, item: Incoming, decision: Decision
) -> None:
    """The reporter on one side; the receivers, and the copies, on the other. A reporter
    that is a ticket system's or no-reply address writes for its party but never reads:
    it takes part as ``helpdesk`` (never sent to), and the party's receivers (support@)
    get what goes to the reporter's side. A copy may be only informed, on a side of its
    own."""
    reporter = item.parsed.from_addr
    if tickets.may_receive(ruleset, reporter):
        participants.add(db, case_id, reporter, participants.REPORTER, "reporter")
    else:
        participants.add(db, case_id, reporter, participants.REPORTER, participants.HELPDESK)
        party = ruleset.directory.parties.get(decision.sender_party or "")
        for address in party.receivers if party else ():
            participants.add(db, case_id, address, participants.REPORTER, "party")
    for address in decision.to:
        participants.add(db, case_id, address, participants.RECEIVER, "receiver")
    informed = informed_addresses(ruleset, decision)
    for address in decision.cc:
        side = INFORMED if address in informed else participants.RECEIVER
        participants.add(db, case_id, address, side, "copy")


def _context(item, decision, ruleset, new: NewCase, due: Deadlines, shown) -> dict:
    """What relay.txt.j2 and receipt.txt.j2 read."""
    msg, directory = item.parsed, ruleset.directory
    subject, text = (shown.subject, shown.text) if shown else (msg.subject, msg.body)
    reporting = directory.parties.get(decision.sender_party or "")
    receiving = directory.parties.get(decision.receiving_party or "")
    names = [a.filename for a in msg.attachments]
    return {
        "reference": new.reference,
        "flow": decision.flow,
        "kind": decision.kind,
        "urgent": decision.urgent,
        "subject": subject,
        "reporter": msg.from_addr,
        "reporting_party": reporting.name if reporting else msg.from_addr,
        "receiving_party": receiving.name if receiving else ", ".join(decision.to),
        "received": local_time(ruleset, item.received_at),
        "measures_due": local_date(ruleset, due.measures) if due.measures else "",
        "close_due": local_date(ruleset, due.close) if due.close else "",
        "external_ref": decision.external_ref,
        "text": text,
        "removed": shown.summary() if shown else "",
        "related_reference": new.related_reference,
        **attachment_lists(names, shown),
        "clock_due": _clock_due(ruleset, decision.flow, item.received_at),
    }


def _clock_due(ruleset: RuleSet, flow: str | None, received: dt.datetime) -> str:
    """The flow's deadline in calendar hours (the 72 hours of a personal-data breach) as
    the relay shows it; empty for a flow without one."""
    declared = ruleset.flows.get(flow or "")
    if declared is None or not declared.clock_hours:
        return ""
    return local_time(ruleset, received + dt.timedelta(hours=declared.clock_hours))


def _outlook(context: dict, item: Incoming) -> dict[str, str]:
    """Outlook threads by these, not by References."""
    reference = context["reference"]
    return {
        "Thread-Topic": context["subject"] or reference,
        "Thread-Index": _thread_index(reference, item.received_at),
    }


@functools.lru_cache(maxsize=4)
def _thread_index(reference: str, received_at: dt.datetime) -> str:
    """The relay's and the receipt's, made once (a UUID5 each)."""
    return thread_index(reference, received_at)


def _relay(renderer, item, decision, ruleset, context, case_id, shown) -> Outgoing:
    return renderer.message(
        "relay.txt.j2",
        context,
        purpose="relay",
        to=decision.to,
        cc=decision.cc,
        reply_to=ruleset.mailboxes.get(item.mailbox or ""),
        reference=context["reference"],
        original=item.parsed,
        attachments=True,
        headers=_outlook(context, item),  # and no automatic answers: render.py
        case_id=case_id,
        skip=shown.skip if shown else frozenset(),
    )


def _receipt(renderer, item, ruleset, context, case_id, to, tag) -> Outgoing:
    return renderer.message(
        "receipt.txt.j2",
        context,
        purpose="receipt",
        to=to,
        subject_tag=tag,
        reply_to=ruleset.mailboxes.get(item.mailbox or ""),
        reference=context["reference"],
        original=item.parsed,
        case_id=case_id,
        headers=_outlook(context, item),  # Auto-Submitted: render.py
    )
