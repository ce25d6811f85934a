"""The pipeline: take stored messages (state ``received``) through parse -> decide -> case.

A batch is claimed by counting an attempt on each row first (committed). Then each
message is worked out outside any transaction and written in a short one of its own.
A message whose handling raises is quarantined with the reason; one that keeps killing
the process (attempts run out before it could be decided) is quarantined on the next
start. Nothing is dropped.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

from gateway.cases import Incoming, record
from gateway.decide import decide
from gateway.faults import fault
from gateway.followup import commands as follow_up
from gateway.models import Decision, Outcome, ParsedMessage
from gateway.outbox.queue import enqueue
from gateway.parse import UnparseableMessage, parse
from gateway.privacy.policy import Deidentified, deidentify, needs_redaction
from gateway.render import Renderer
from gateway.rules import BUILTIN
from gateway.rules.base import Context, RuleSet
from gateway.safety import duplicate_of, link_bounce, mark_duplicate, quarantine, too_large
from gateway.settings import Settings
from gateway.store import event, get_raw, write
from gateway.store import update as store_update
from gateway.threads.match import CaseMatch
from gateway.threads.reply import admin_addresses, record_reply, thread_decision
from gateway.triage import (
    TriageError,
    decide_triaged,
    note_number,
    parse_decision,
    refuse_triage_command,
)

log = logging.getLogger("gateway.pipeline")
MAX_ATTEMPTS = 3


def _forged(msg: ParsedMessage, mailbox: str | None, at: dt.datetime, ruleset: RuleSet) -> bool:
    """An administrator's or the on-call duty's address is no proof by itself: a message
    whose sender domain failed DMARC at our mail server may not give commands."""
    context = Context(msg, mailbox, at, ruleset, Decision(Outcome.TRIAGE))
    return BUILTIN["dmarc-fail"].check(context)


class Pipeline:
    """Decide what intake stored. ``rules()`` returns the current RuleSet (reloads)."""

    def __init__(
        self, db: Database, rules: Callable[[], RuleSet], renderer: Renderer, settings: Settings
    ):
        self.db, self.rules, self.renderer, self.settings = db, rules, renderer, settings

    def process_batch(self, limit: int = 50) -> int:
        """Decide up to ``limit`` waiting messages; returns how many were handled.

        Each message is worked out first (parse, decide, de-identify: CPU and reads,
        outside any transaction) and then written in a short transaction of its own, so
        that intake and the sender, which write too, wait milliseconds for their turn
        rather than the length of a batch.
        """
        rows = list(
            self.db.query(
                "SELECT id, mailbox, received_at, attempts, size, sha256 FROM messages "
                "WHERE direction = 'in' AND state = 'received' ORDER BY id LIMIT ?",
                [limit],
            )
        )
        if not rows:
            return 0
        with write(self.db):
            self.db.execute(
                f"UPDATE messages SET attempts = attempts + 1 WHERE id IN "
                f"({','.join('?' * len(rows))})",
                [r["id"] for r in rows],
            )
        ruleset = self.rules()
        for row in rows:
            self.db.conn.execute("BEGIN")  # one snapshot for all that the plan reads
            try:
                step = self._plan(row, ruleset)
            except Exception as exc:  # one bad message must not stop the others
                step = functools.partial(self._failed, row, exc)
            finally:
                self.db.conn.execute("COMMIT")  # it only read: ends the snapshot
            with write(self.db):
                try:
                    with self.db.atomic():
                        step()
                except Exception as exc:
                    with self.db.atomic():
                        self._failed(row, exc)
        fault("after-decide")
        return len(rows)

    def _failed(self, row: dict, exc: Exception) -> None:
        log.error("message %s failed in the pipeline", row["id"], exc_info=exc)
        quarantine(self.db, row["id"], f"pipeline error: {type(exc).__name__}: {exc}")

    def _plan(self, row: dict, ruleset: RuleSet) -> Callable[[], object]:
        """Work out what to do with one stored message; returns the step that writes it.

        Only reads here, in one snapshot; the step runs in the write transaction right
        after. This thread is the only one that decides new mail, so what it read still
        holds; what another process wrote meanwhile (an administrator's triage decision,
        milliseconds before) counts as having come just after this message.
        """
        db, row_id = self.db, row["id"]
        if row["attempts"] + 1 > MAX_ATTEMPTS:
            return functools.partial(
                quarantine, db, row_id, f"not decided after {MAX_ATTEMPTS} attempts"
            )
        limit = self.settings.max_message_bytes
        if row["size"] > limit:
            return functools.partial(too_large, db, row, limit, ruleset, self.renderer)
        raw = get_raw(db, row_id)
        if raw is None:
            return functools.partial(
                quarantine, db, row_id, "the raw bytes are missing from raw_messages"
            )
        try:
            parsed = parse(raw)
        except UnparseableMessage as exc:
            return functools.partial(quarantine, db, row_id, str(exc))
        if original := duplicate_of(db, row, parsed):
            return functools.partial(mark_duplicate, db, row_id, parsed, original)
        received = dt.datetime.fromisoformat(row["received_at"])
        item = Incoming(row_id, row["mailbox"], received, raw, parsed)
        decision = decide(parsed, ruleset, row["mailbox"], received)
        number = note_number(parsed.subject)
        trusted = not _forged(parsed, row["mailbox"], received, ruleset)
        if number is not None and decision.decision is not Outcome.IGNORE:
            if trusted and parsed.from_addr in admin_addresses(ruleset):
                return functools.partial(self._admin_decision, item, number, ruleset)
            decision = refuse_triage_command(decision, ruleset)
        if (
            decision.decision is not Outcome.IGNORE
            and trusted
            and follow_up.is_for_follow_up(parsed.new_text, ruleset, parsed.from_addr)
        ):
            return functools.partial(self._command, item, ruleset)
        match = None
        if trusted:  # a forged sender is no participant: it stays with the administrators
            decision, match = thread_decision(
                db, parsed, ruleset, decision, self.settings.loop_limit_per_hour
            )
        if decision.decision in (Outcome.THREAD, Outcome.HOLD):
            return functools.partial(
                record_reply, db, item, decision, match, ruleset, self.renderer
            )
        shown = None  # the de-identified message, worked out here rather than in the write
        if decision.decision is Outcome.RELAY and needs_redaction(
            ruleset, decision.to + decision.cc
        ):
            shown = deidentify(parsed, ruleset)
        return functools.partial(self._record, item, decision, match, ruleset, shown)

    def _command(self, item: Incoming, ruleset: RuleSet) -> None:
        reason = follow_up.handle(self.db, item, ruleset, self.renderer)
        event(self.db, "command", reason, message_id=item.row_id)
        log.info("follow-up command(s) from %s: %s", item.parsed.from_addr, reason)

    def _record(
        self,
        item: Incoming,
        decision: Decision,
        match: CaseMatch | None,
        ruleset: RuleSet,
        shown: Deidentified | None,
    ) -> None:
        reference = record(
            self.db,
            item,
            decision,
            ruleset,
            self.renderer,
            send_receipts=self.settings.send_receipts,
            deliver_for_hours=self.settings.deliver_for_hours,
            related_reference=match.reference if match else None,
            shown=shown,
        )
        if "bounce" in decision.rules:  # after record(): it links the bounce to its case
            link_bounce(self.db, item, ruleset, self.renderer)
        if decision.decision is Outcome.RELAY:
            log.info("relay %s flow %s to %s", reference, decision.flow, decision.receiving_party)
        else:
            log.info("%s message %s (%s)", decision.decision, item.row_id, decision.rules[-1:])

    def _admin_decision(self, item: Incoming, number: int, ruleset: RuleSet) -> None:
        """An administrator's answer to a triage note: carry out the decision in it."""
        who = item.parsed.from_addr
        try:
            action, value = parse_decision(item.parsed.new_text)
            with self.db.atomic():
                summary = decide_triaged(
                    self.db, number, action, value, ruleset, self.renderer, self.settings, who
                )
            outcome, reason = "admin", f"triage decision by {who}: {summary}"
        except (TriageError, NotFoundError) as exc:
            why = str(exc) if isinstance(exc, TriageError) else f"melding {number} finnes ikke"
            outcome, reason = "admin", f"triage decision by {who} refused: {why}"
            error = self.renderer.message(
                "triage_error.txt.j2",
                {"number": number, "error": why},
                purpose="notice",
                to=[who],
                original=item.parsed,
            )
            enqueue(self.db, error)
        store_update(
            self.db,
            "messages",
            item.row_id,
            {
                "state": "done",
                "outcome": outcome,
                "reason": reason,
                "from_addr": who,
                "subject": item.parsed.subject,
            },
        )
        event(self.db, "admin", reason, message_id=item.row_id)
        log.info("triage decision for message %s by an administrator", number)
