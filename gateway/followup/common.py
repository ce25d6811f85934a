"""What the follow-up jobs share: case lines for people to read, and sending."""

from __future__ import annotations

import datetime as dt

from sqlite_utils import Database

from gateway.outbox.queue import enqueue
from gateway.privacy.policy import known_addresses
from gateway.privacy.redact import redact_text
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.store import event
from gateway.threads import participants

OPEN = "status != 'lukket'"


def party_name(ruleset: RuleSet, key: str | None) -> str:
    party = ruleset.directory.parties.get(key or "")
    return party.name if party else (key or "ukjent")


def on_call_addresses(ruleset: RuleSet) -> list[str]:
    key = ruleset.follow_up.on_call
    return list(ruleset.directory[key].receivers) if key else []


def admin_receivers(ruleset: RuleSet) -> list[str]:
    return list(ruleset.directory[ruleset.triage_party].receivers)


def redacted(ruleset: RuleSet, text: str | None) -> str:
    """A subject as a digest may show it: never personal data, whoever reads it."""
    if not text:
        return "(uten emne)"
    policy = ruleset.privacy
    return redact_text(
        text,
        known_addresses=known_addresses(ruleset),
        phones=policy.phone_numbers,
        emails=policy.email_addresses,
    )[0]


def local_date(ruleset: RuleSet, at: dt.datetime) -> dt.date:
    return ruleset.hours.local(at).date()


def case_line(ruleset: RuleSet, case: dict) -> dict:
    """One case as the digests and lists show it: no text, no personal data."""
    received = dt.datetime.fromisoformat(case["received_at"])
    return {
        "reference": case["reference"],
        "flow": case["flow"],
        "kind": case["kind"],
        "status": case["status"],
        "urgent": bool(case["urgent"]),
        "from_party": party_name(ruleset, case["reporting_party"]),
        "to_party": party_name(ruleset, case["receiving_party"]),
        "received": ruleset.hours.local(received).strftime("%d.%m.%Y kl. %H:%M"),
        "subject": redacted(ruleset, case["subject"]),
        "measures_due": _date(case["measures_due"]),
        "close_due": _date(case["close_due"]),
    }


def _date(value: str | None) -> str:
    return dt.date.fromisoformat(value).strftime("%d.%m.%Y") if value else "–"


def receivers_of(db: Database, case: dict) -> list[str]:
    return participants.addresses(db, case["id"], participants.RECEIVER)


def send(
    db: Database,
    renderer: Renderer,
    template: str,
    context: dict,
    *,
    purpose: str,
    to: list[str],
    ruleset: RuleSet,
    case: dict | None = None,
) -> int | None:
    """Queue one notice; returns its row in ``messages`` (None when nobody to tell)."""
    if not to:
        return None
    reply_to = ruleset.mailboxes.get((case or {}).get("mailbox") or "") or next(
        iter(ruleset.mailboxes.values())
    )
    out = renderer.message(
        template,
        context,
        purpose=purpose,
        to=sorted(set(to)),
        reply_to=reply_to,
        reference=case["reference"] if case else None,
        case_id=case["id"] if case else None,
    )
    outbox_id = enqueue(db, out)
    return db.execute("SELECT message_id FROM outbox WHERE id = ?", [outbox_id]).fetchone()[0]


def note(db: Database, case: dict, kind: str, detail: str, message_id: int | None = None) -> None:
    event(db, kind, detail, case_id=case["id"], message_id=message_id)
