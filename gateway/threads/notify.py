"""The mail a reply in a case sends: the relay to the other side, notices, command errors.

Every message carries the case's thread headers (the first and last Message-IDs, and
Outlook's Thread-Topic/Thread-Index), so that each side's mail client keeps one thread.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from gateway.case.common import local_date, local_time
from gateway.helpdesk.tickets import shown, subject_tags
from gateway.models import Incoming
from gateway.outbox.queue import enqueue
from gateway.privacy import confidential
from gateway.privacy.outgoing import guard
from gateway.references import strip_own_words
from gateway.rules.base import RuleSet
from gateway.stage import StageContext
from gateway.store.caselog import CaseRow
from gateway.store.cases import participant_addresses, thread_ids
from gateway.threads.outlook import thread_index


def case_context(case: CaseRow, ruleset: RuleSet) -> dict:
    """What every notice about a case shows of it."""
    received = dt.datetime.fromisoformat(case.received_at)
    return {
        "reference": case.reference,
        "case_subject": case.subject,
        "status": case.status,
        "severity": case.severity,
        "measure": case.measure,
        "measures_due": _date(ruleset, case.measures_due),
        "close_due": _date(ruleset, case.close_due),
        "received": local_time(ruleset, received),
    }


def _date(ruleset: RuleSet, day: str | None) -> str:
    """A stored deadline as people read it; "" for a suggestion without one."""
    return local_date(ruleset, dt.date.fromisoformat(day)) if day else ""


def reply_subject(subject: str, reference: str, own_words: tuple[str, ...] = ()) -> str:
    """The subject without stacked reply prefixes and the gateway's own subject words
    (``own_words``), with the reference in front."""
    subject = strip_own_words(subject, own_words)
    return subject if reference.lower() in subject.lower() else f"[{reference}] {subject}"


def send(
    stage: StageContext,
    template: str,
    context: dict,
    purpose: str,
    to: list[str],
    case: CaseRow,
    item: Incoming,
    attachments: bool = False,
    skip: frozenset[str] = frozenset(),
    attach_original: bytes | None = None,
) -> None:
    """Render and queue one message about the case, in its thread; nobody: nothing."""
    if not to:
        return
    ids = thread_ids(stage.db, case.id, case.first_message_id)
    started = dt.datetime.fromisoformat(case.received_at)
    hidden = _hidden(stage, case, item, to)
    original = confidential.anonymous(item.parsed) if case.confidential else item.parsed
    if case.confidential:  # the report's own Message-ID may name the reporter
        ids = dataclasses.replace(ids, first=None)
    out = stage.renderer.message(
        template,
        context | {"tickets": shown(stage.db, stage.rules, case.id)},
        purpose=purpose,
        to=to,
        reference=case.reference,
        reply_to=stage.rules.mailboxes.get(case.mailbox or ""),
        original=original,
        attachments=attachments,
        skip=skip,
        attach_original=attach_original,
        case_id=case.id,
        thread=(ids.last or ids.first, [i for i in (ids.first, ids.last) if i])
        if ids.last or ids.first
        else None,
        subject_tag=subject_tags(stage.db, stage.rules, case.id, to),
        headers={
            "Thread-Topic": case.subject or case.reference,
            "Thread-Index": thread_index(case.reference, started, stage.clock()),
        },
    )
    enqueue(stage.db, guard(out, stage.rules, known=[item.parsed.from_addr], hidden=hidden))


def _hidden(stage: StageContext, case: CaseRow, item: Incoming, to: list[str]):
    """A confidential case's reporter, when the message goes off the reporter's side:
    the case's address and name, and the sender's own if they write from that side."""
    if not case.confidential:
        return None
    reporters = participant_addresses(stage.db, case.id, "reporter")
    sender = item.parsed
    mine = sender.from_addr in {a.lower() for a in reporters}
    who = confidential.reporter(
        [case.reporter_address, sender.from_addr if mine else None],
        [case.reporter_name, sender.from_name if mine else None],
    )
    return confidential.hidden_for(True, who, to, reporters)
