"""What the follow-up jobs share: case lines for people to read, and sending."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.case import participants
from gateway.helpdesk.tickets import subject_tags
from gateway.i18n import phrases
from gateway.models import Outgoing
from gateway.outbox.queue import enqueue
from gateway.privacy.outgoing import guard
from gateway.privacy.policy import known_addresses
from gateway.privacy.redact import redact_text
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.store import event, write
from gateway.store.caselog import CaseRow
from gateway.store.db import Database
from gateway.store.jobs import make_room
from gateway.store.outbox import message_of


def party_name(ruleset: RuleSet, key: str | None) -> str:
    party = ruleset.directory.parties.get(key or "")
    return party.name if party else (key or phrases(ruleset.language)("followup.unknown_party"))


def on_call_addresses(ruleset: RuleSet) -> list[str]:
    key = ruleset.follow_up.on_call
    return list(ruleset.directory[key].receivers) if key else []


def admin_receivers(ruleset: RuleSet) -> list[str]:
    return list(ruleset.directory[ruleset.triage_party].receivers)


def redacted(ruleset: RuleSet, text: str | None) -> str:
    """A subject as a digest may show it: never personal data, whoever reads it."""
    if not text:
        return phrases(ruleset.language)("followup.no_subject")
    policy = ruleset.privacy
    return redact_text(
        text,
        known_addresses=_known(ruleset),
        phones=policy.phone_numbers,
        emails=policy.email_addresses,
    )[0]


_last_known: tuple[RuleSet, list[str]] | None = None


def _known(ruleset: RuleSet) -> list[str]:
    """``known_addresses`` of the rules in use, worked out once for them, not once per
    line: a list of 6,000 overdue cases spent 0.14 s on it. Kept for the last rules
    seen (compared by identity: a reload gives a new object)."""
    global _last_known
    last = _last_known
    if last is None or last[0] is not ruleset:
        last = _last_known = (ruleset, known_addresses(ruleset))
    return last[1]


def local_date(ruleset: RuleSet, at: dt.datetime) -> dt.date:
    return ruleset.hours.local(at).date()


def local_moment(ruleset: RuleSet, at: dt.datetime) -> str:
    """A time as people read it: local, in the deployment's language."""
    return phrases(ruleset.language)("followup.moment", at=ruleset.hours.local(at))


def show_date(ruleset: RuleSet, day: dt.date | str | None) -> str:
    """A date (or a stored ISO date) as people read it; a dash when there is none."""
    say = phrases(ruleset.language)
    if not day:
        return say("followup.no_date")
    return say("followup.date", day=dt.date.fromisoformat(day) if isinstance(day, str) else day)


def case_line(ruleset: RuleSet, case: CaseRow) -> dict:
    """One case as the digests and lists show it: no text, no personal data."""
    return {
        "reference": case.reference,
        "flow": case.flow,
        "kind": case.kind,
        "status": case.status,
        "urgent": bool(case.urgent),
        "from_party": party_name(ruleset, case.reporting_party),
        "to_party": party_name(ruleset, case.receiving_party),
        "received": local_moment(ruleset, dt.datetime.fromisoformat(case.received_at)),
        "subject": redacted(ruleset, case.subject),
        "measures_due": show_date(ruleset, case.measures_due),
        "close_due": show_date(ruleset, case.close_due),
    }


def receivers_of(db: Database, case: CaseRow) -> list[str]:
    return participants.addresses(db, case.id, participants.RECEIVER)


def send(db: Database, renderer: Renderer, template: str, context: dict, **how: Any) -> int | None:
    """``compose`` and ``queue`` in one (in the caller's transaction): its row in
    ``messages``, or None when nobody is to be told. ``how``: compose's keywords."""
    return queue(db, compose(db, renderer, template, context, **how))


def compose(
    db: Database,
    renderer: Renderer,
    template: str,
    context: dict,
    *,
    purpose: str,
    to: list[str],
    ruleset: RuleSet,
    case: CaseRow | None = None,
    **options: Any,
) -> Outgoing | None:
    """One notice, rendered and checked, not yet queued (None when nobody to tell): a
    job makes its mail before its write transaction and only queues it inside."""
    if not to:
        return None
    reply_to = ruleset.mailboxes.get((case.mailbox if case else None) or "") or next(
        iter(ruleset.mailboxes.values())
    )
    out = renderer.message(
        template,
        context,
        purpose=purpose,
        to=sorted(set(to)),
        reply_to=reply_to,
        reference=case.reference if case else None,
        case_id=case.id if case else None,
        subject_tag=subject_tags(db, ruleset, case.id, to) if case else "",  # a helpdesk's
        **options,
    )
    return guard(out, ruleset)  # fail closed, as relays do


def queue(db: Database, out: Outgoing | None) -> int | None:
    """Queue a composed notice (in the caller's transaction); its row in ``messages``."""
    return None if out is None else message_of(db, enqueue(db, out))


def in_batches(db: Database, items: list, each, size: int = 500) -> None:
    """``each(item)`` for every item, ``size`` to a short write transaction: a long
    list of notes must not hold the database while intake waits."""
    for start in range(0, len(items), size):
        make_room(db)
        with write(db):
            for item in items[start : start + size]:
                each(item)


def note(
    db: Database, case: CaseRow, kind: str, detail: str, message_id: int | None = None
) -> None:
    event(db, kind, detail, case_id=case.id, message_id=message_id)
