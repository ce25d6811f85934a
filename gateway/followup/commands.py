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

import dataclasses
import re
from dataclasses import dataclass

from gateway.case import participants
from gateway.followup.common import (
    case_line,
    note,
    receivers_of,
    redacted,
    send,
)
from gateway.followup.urgent_attachments import carried
from gateway.i18n import Phrases, phrases
from gateway.models import Incoming, ParsedMessage
from gateway.privacy.policy import needs_redaction
from gateway.references import find_reference
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.store import followup as rows
from gateway.store.caselog import CaseRow, case_by_reference
from gateway.store.db import Database
from gateway.store.states import CaseStatus
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


def parse(
    text: str, prefix: str | tuple[str, ...], say: Phrases | None = None
) -> tuple[list[FollowUpCommand], list[tuple[str, str]]]:
    """The commands of a message, and (line, why) for each line refused."""
    say = say or phrases()
    commands, errors = [], []
    for found in _LINE.finditer(text):
        word, rest, line = found.group(1).lower(), " ".join(found.group(2).split()), found.group(0)
        verb = VERBS.get(word)
        if verb is None:
            why = "followup.in_case_thread" if word in THREAD_VERBS else "followup.unknown_command"
            errors.append((line.strip(), say(why, word=word)))
            continue
        reference = find_reference(rest.split(" ", 1)[0], prefix) if rest else None
        if reference:
            rest = rest.split(" ", 1)[1].lstrip(" :-\u2013") if " " in rest else ""
        if verb in ("assess", "reviewed") and not rest:
            why = "followup.needs_assessment" if verb == "assess" else "followup.needs_summary"
            errors.append((line.strip(), say(why, word=word)))
            continue
        commands.append(FollowUpCommand(verb, reference, rest, line.strip()))
    return commands, errors


def _targets(db: Database, msg: ParsedMessage, prefix: str | tuple[str, ...]) -> list[CaseRow]:
    """The case of the reply, or the cases of the digest it answers."""
    if reference := find_reference(msg.subject, prefix):
        case = case_by_reference(db, reference)
        return [case] if case else []
    ids = [i for i in (msg.in_reply_to, *msg.references) if i]
    if not ids:
        return []
    return rows.case_of_messages(db, ids) or rows.cases_of_digests(db, ids)


def _cases_for(
    db: Database, command: FollowUpCommand, targets: list[CaseRow], say: Phrases
) -> tuple[list[CaseRow], str | None]:
    """The cases a command acts on, or why it cannot act."""
    if command.reference:
        case = case_by_reference(db, command.reference)
        if case is None:
            return [], say("followup.no_such_case", reference=command.reference)
        return [case], None
    if not targets:
        return [], say("followup.no_case_found")
    if command.verb != "assess" and len(targets) > 1:
        return [], say("followup.many_cases")
    return targets, None


def handle(db: Database, item: Incoming, ruleset: RuleSet, renderer: Renderer) -> str:
    """Carry out the commands of one message (in the caller's transaction); the reason
    recorded with the message."""
    msg, who, say = item.parsed, item.parsed.from_addr, phrases(ruleset.language)
    commands, errors = parse(msg.new_text, ruleset.reference_prefixes, say)
    targets = _targets(db, msg, ruleset.reference_prefixes)
    done: list[str] = []
    act = _Act(db, ruleset, renderer, who, item.row_id, say)
    for command in commands:
        cases, why = _cases_for(db, command, targets, say)
        if why:
            errors.append((command.line, why))
        for case in cases:
            answer, refused = act(command, case)
            (errors.append((command.line, refused)) if refused else done.append(answer))
    send(
        db,
        renderer,
        "followup_answer.txt.j2",
        {"done": done, "errors": errors, "subject": msg.subject},
        purpose="command-answer",
        to=[who],
        ruleset=ruleset,
    )
    reason = f"follow-up command(s) from {who}: {len(done)} done, {len(errors)} refused"
    case_id = targets[0].id if len(targets) == 1 else None
    rows.record_command(db, item.row_id, reason, case_id, who, msg.subject)
    return f"{len(done)} done, {len(errors)} refused"


@dataclass(frozen=True)
class _Act:
    """Carries out one command on one case: (what was done, None) or ("", why not)."""

    db: Database
    ruleset: RuleSet
    renderer: Renderer
    who: str
    row_id: int
    say: Phrases

    def __call__(self, command: FollowUpCommand, case: CaseRow) -> tuple[str, str | None]:
        if command.verb == "assess":
            return self.assess(command, case)
        if command.verb == "reviewed":
            return self.reviewed(command, case)
        return self.urgent(case)

    def assess(self, command: FollowUpCommand, case: CaseRow) -> tuple[str, str | None]:
        rows.mark(self.db, case.id, "assessed_at")
        note(self.db, case, "assessment", f"{self.who}: {command.text}", self.row_id)
        return self.say("followup.assessed", reference=case.reference), None

    def reviewed(self, command: FollowUpCommand, case: CaseRow) -> tuple[str, str | None]:
        if not case.review_due_at:
            return "", self.say("followup.not_under_review", reference=case.reference)
        if case.review_done_at:
            return "", self.say("followup.already_reviewed", reference=case.reference)
        rows.mark(self.db, case.id, "review_done_at")
        # The summary is confidential: in the case log only.
        note(self.db, case, "review-done", f"{self.who}: {command.text}", self.row_id)
        return self.say("followup.reviewed", reference=case.reference), None

    def urgent(self, case: CaseRow) -> tuple[str, str | None]:
        if case.urgent:
            return "", self.say("followup.already_urgent", reference=case.reference)
        if case.status == CaseStatus.CLOSED:
            return "", self.say("followup.closed", reference=case.reference)
        rows.mark_urgent(self.db, case.id)
        note(self.db, case, "urgent", f"upgraded to urgent by {self.who}", self.row_id)
        to = self._relay_urgent(dataclasses.replace(case, urgent=1))
        return self.say("followup.upgraded", reference=case.reference, to=", ".join(to)), None

    def _relay_urgent(self, case: CaseRow) -> list[str]:
        """The first report to the receiving side at once, the reporter told; returns to whom."""
        db, ruleset = self.db, self.ruleset
        line = case_line(ruleset, case)
        to = receivers_of(db, case)
        text = rows.first_text(db, case.first_message_id)
        if hidden := needs_redaction(ruleset, to):  # the log may keep the original
            text = redacted(ruleset, text)
        attached = carried(db, ruleset, case.first_message_id, hidden)
        context = line | {"text": text, "by": self.who} | attached.context
        relayed = send(db, self.renderer, "urgent.txt.j2", context, purpose="urgent", to=to,
                       ruleset=ruleset, case=case, **attached.message_options())  # fmt: skip
        note(db, case, "relay-queued", f"urgent: to {', '.join(to)}", relayed)
        reporters = participants.addresses(db, case.id, participants.REPORTER)
        send(db, self.renderer, "upgraded.txt.j2", line, purpose="status", to=reporters,
             ruleset=ruleset, case=case)  # fmt: skip
        return to
