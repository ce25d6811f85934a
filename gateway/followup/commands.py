"""The on-call duty's commands: ``#vurdert``, ``#haster`` and ``#gjennomgått``.

Only the on-call duty and the administrators may use them, in a reply to a case or to
a review digest. The case is the one named on the command line
(``#vurdert AVVIK-2026-0042 ok``), else the one the reply belongs to (subject reference,
then thread headers), else every case the digest listed (``#haster`` and
``#gjennomgått`` need one case). Nothing of such a message is relayed: an assessment or
a review summary stays in the case log. The sender gets an answer saying what was done,
and for an unknown or malformed command, what is valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlite_utils import Database

from gateway.cases import Incoming
from gateway.followup.common import (
    case_line,
    note,
    receivers_of,
    redacted,
    send,
)
from gateway.models import ParsedMessage
from gateway.privacy.policy import needs_redaction
from gateway.references import find_reference
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.store import now
from gateway.store import update as store_update
from gateway.threads import participants
from gateway.threads.commands import FOLLOW_UP as VERBS
from gateway.threads.commands import VERBS as THREAD_VERBS

_LINE = re.compile(r"^\s*#([^\W\d_]+)\b[ \t:]*(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class FollowUpCommand:
    verb: str  # assess, urgent or reviewed
    reference: str | None  # named on the line
    text: str
    line: str


def _addresses(ruleset: RuleSet, key: str | None) -> set[str]:
    if not key:
        return set()
    party = ruleset.directory[key]
    return {a for a in (*party.senders, *party.receivers) if not a.startswith("*@")}


def may_command(ruleset: RuleSet, address: str) -> bool:
    """The on-call duty and the administrators; nobody else."""
    allowed = _addresses(ruleset, ruleset.follow_up.on_call) | _addresses(
        ruleset, ruleset.triage_party
    )
    return address.lower() in allowed


def is_for_follow_up(text: str, ruleset: RuleSet, address: str) -> bool:
    """A message this module answers: from the on-call duty or an administrator, with one
    of its commands; from the on-call duty, with any command line at all (so that a
    mistyped one gets an answer instead of going to triage). The administrators' other
    commands (#lukk, #status ...) belong to the case thread."""
    if not may_command(ruleset, address):
        return False
    words = [m.group(1).lower() for m in _LINE.finditer(text)]
    if any(word in VERBS for word in words):
        return True
    admin = address.lower() in _addresses(ruleset, ruleset.triage_party)
    return bool(words) and not admin


def parse(text: str, prefix: str) -> tuple[list[FollowUpCommand], list[tuple[str, str]]]:
    commands, errors = [], []
    for found in _LINE.finditer(text):
        word, rest, line = found.group(1).lower(), " ".join(found.group(2).split()), found.group(0)
        verb = VERBS.get(word)
        if verb is None:
            why = (
                f"#{word} skrives i et eget svar i saken"
                if word in THREAD_VERBS
                else f"ukjent kommando #{word}"
            )
            errors.append((line.strip(), why))
            continue
        reference = find_reference(rest.split(" ", 1)[0], prefix) if rest else None
        if reference:
            rest = rest.split(" ", 1)[1].lstrip(" :-–") if " " in rest else ""
        if verb in ("assess", "reviewed") and not rest:
            what = "vurderingen" if verb == "assess" else "en oppsummering av gjennomgangen"
            errors.append((line.strip(), f"#{word} må følges av {what}"))
            continue
        commands.append(FollowUpCommand(verb, reference, rest, line.strip()))
    return commands, errors


def _targets(db: Database, msg: ParsedMessage, prefix: str) -> list[dict]:
    """The case of the reply, or the cases of the digest it answers."""
    if reference := find_reference(msg.subject, prefix):
        return list(db.query("SELECT * FROM cases WHERE reference = ?", [reference]))
    ids = [i for i in (msg.in_reply_to, *msg.references) if i]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = list(
        db.query(
            f"SELECT c.* FROM cases c JOIN messages m ON m.case_id = c.id "
            f"WHERE m.message_id IN ({marks}) ORDER BY m.id DESC LIMIT 1",
            ids,
        )
    )
    if rows:
        return rows
    return list(
        db.query(
            f"SELECT DISTINCT c.* FROM cases c JOIN events e ON e.case_id = c.id "
            f"JOIN messages m ON m.id = e.message_id WHERE e.kind = 'in-digest' "
            f"AND m.message_id IN ({marks}) ORDER BY c.id",
            ids,
        )
    )


def handle(db: Database, item: Incoming, ruleset: RuleSet, renderer: Renderer) -> str:
    """Carry out the commands of one message (in the caller's transaction); the reason
    recorded with the message."""
    msg, who = item.parsed, item.parsed.from_addr
    commands, errors = parse(msg.new_text, ruleset.reference_prefix)
    targets = _targets(db, msg, ruleset.reference_prefix)
    done: list[str] = []
    for command in commands:
        if command.reference:
            cases = list(db.query("SELECT * FROM cases WHERE reference = ?", [command.reference]))
            if not cases:
                errors.append((command.line, f"saken {command.reference} finnes ikke"))
                continue
        else:
            cases = targets
        if not cases:
            errors.append((command.line, "fant ingen sak: skriv referansen etter kommandoen"))
            continue
        if command.verb != "assess" and len(cases) > 1:
            errors.append((command.line, "oversikten har flere saker: skriv referansen"))
            continue
        for case in cases:
            ok, *result = _apply(db, command, case, who, item.row_id, ruleset, renderer)
            if ok:
                done.append(result[0])
            else:
                errors.append(tuple(result))
    send(
        db,
        renderer,
        "followup_answer.txt.j2",
        {"done": done, "errors": errors, "subject": msg.subject},
        purpose="command-answer",
        to=[who],
        ruleset=ruleset,
    )
    store_update(
        db,
        "messages",
        item.row_id,
        {
            "state": "done",
            "outcome": "command",
            "reason": f"follow-up command(s) from {who}: {len(done)} done, {len(errors)} refused",
            "case_id": targets[0]["id"] if len(targets) == 1 else None,
            "from_addr": who,
            "subject": msg.subject,
        },
    )
    return f"{len(done)} done, {len(errors)} refused"


def _apply(db, command, case, who, row_id, ruleset, renderer) -> tuple:
    """(True, what was done) or (False, line, why)."""
    reference = case["reference"]
    if command.verb == "assess":
        store_update(db, "cases", case["id"], {"assessed_at": now()})
        note(db, case, "assessment", f"{who}: {command.text}", row_id)
        return True, f"{reference}: vurderingen er registrert"
    if command.verb == "reviewed":
        if not case["review_due_at"]:
            return False, command.line, f"{reference} er ikke en lukket hastesak med gjennomgang"
        if case["review_done_at"]:
            return False, command.line, f"gjennomgangen av {reference} er alt registrert"
        store_update(db, "cases", case["id"], {"review_done_at": now()})
        note(db, case, "review-done", f"{who}: {command.text}", row_id)  # confidential
        return True, f"{reference}: gjennomgangen er registrert som gjennomført"
    if case["urgent"]:
        return False, command.line, f"{reference} er alt en hastesak"
    if case["status"] == "lukket":
        return False, command.line, f"{reference} er lukket"
    store_update(db, "cases", case["id"], {"urgent": 1, "updated_at": now()})
    note(db, case, "urgent", f"upgraded to urgent by {who}", row_id)
    first = db.execute(
        "SELECT new_text FROM messages WHERE id = ?", [case["first_message_id"]]
    ).fetchone()
    line = case_line(ruleset, case | {"urgent": 1})
    to = receivers_of(db, case)
    text = (first[0] if first else "") or ""
    if needs_redaction(ruleset, to):  # the case log may keep the original (keep_original)
        text = redacted(ruleset, text)
    relayed = send(
        db,
        renderer,
        "urgent.txt.j2",
        line | {"text": text, "by": who},
        purpose="urgent",
        to=to,
        ruleset=ruleset,
        case=case,
    )
    note(db, case, "relay-queued", f"urgent: to {', '.join(to)}", relayed)
    reporters = participants.addresses(db, case["id"], participants.REPORTER)
    send(
        db,
        renderer,
        "upgraded.txt.j2",
        line,
        purpose="status",
        to=reporters,
        ruleset=ruleset,
        case=case,
    )
    return True, f"{reference}: oppgradert til hastesak og sendt til {', '.join(to)}"
