"""One stored message as the decision chain sees it.

Each fact (the raw bytes, the parsed message, the rules.yaml decision, the case it
belongs to, the sender's side in that case …) is worked out once, and only when a rule
of the chain asks for it: a message over the size limit is never read, a duplicate never
decided. Everything here only reads; the chain's plan is carried out elsewhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

from gateway.case import participants
from gateway.decide.yaml_rules import decide
from gateway.models import Arrival, Decision, ParsedMessage
from gateway.parse import UnparseableMessage, parse
from gateway.rules.base import Context, RuleSet
from gateway.rules.parties import Party
from gateway.stage import StageContext
from gateway.store import get_raw
from gateway.store import messages as stored
from gateway.store.cases import loop_count
from gateway.threads.match import CaseMatch, find_by_ticket, find_case


@dataclass
class Facts:
    """The facts the chain's rules read, and the reasons they note on a hit."""

    arrival: Arrival
    stage: StageContext
    given_raw: bytes | None = None  # the bytes, when the caller has them (a file)
    notes: list[str] = field(default_factory=list)

    def know(self, parsed: ParsedMessage | str | None, decision: Decision | None = None) -> None:
        """Take the parse (as ``_parsed`` holds it) and the rules.yaml decision that a
        worker process worked out ahead (``gateway/prepare.py``) instead of working them
        out here: the same functions on the same bytes and rules. None: not known."""
        if parsed is not None:
            self.__dict__["_parsed"] = parsed  # where cached_property keeps its value
        if decision is not None:
            self.__dict__["decision"] = decision

    @property
    def ruleset(self) -> RuleSet:
        return self.stage.rules

    @cached_property
    def raw(self) -> bytes | None:
        """The message as it arrived; None when the bytes are gone from the case log."""
        if self.given_raw is not None or self.arrival.row_id is None or self.stage.db is None:
            return self.given_raw
        return get_raw(self.stage.db, self.arrival.row_id)

    @cached_property
    def _parsed(self) -> ParsedMessage | str:
        """The parsed message, or why it cannot be read."""
        if self.raw is None:
            return "the raw bytes are missing from raw_messages"
        try:
            return parse(self.raw)
        except UnparseableMessage as exc:
            return str(exc)

    @property
    def unreadable(self) -> str | None:
        """Why the message cannot be read, or None: it parsed."""
        return self._parsed if isinstance(self._parsed, str) else None

    @property
    def msg(self) -> ParsedMessage:
        if isinstance(self._parsed, str):
            raise UnparseableMessage(self._parsed)
        return self._parsed

    @property
    def mailbox(self) -> str | None:
        return self.arrival.mailbox

    @property
    def at(self) -> dt.datetime:
        return self.arrival.received_at

    @cached_property
    def decision(self) -> Decision:
        """What the rules of rules.yaml decide for the message, as if it were new."""
        return decide(self.msg, self.ruleset, self.mailbox, self.at)

    @cached_property
    def sender(self) -> Party | None:
        return self.ruleset.directory.sender(self.msg.from_addr)

    @cached_property
    def intake_mailboxes(self) -> list[str]:
        """The intake mailboxes its To and Cc name, sorted. (Not the one it came in: a
        forward or an alias may deliver it where its headers do not say.)"""
        named = map(self.ruleset.mailbox_for, (*self.msg.to, *self.msg.cc))
        return sorted(set(filter(None, named)))

    @cached_property
    def decisions_by_mailbox(self) -> dict[str, Decision]:
        """What rules.yaml would decide in each intake mailbox the message names."""
        return {box: decide(self.msg, self.ruleset, box, self.at) for box in self.intake_mailboxes}

    @cached_property
    def named_municipalities(self) -> list[str]:
        """The municipalities the message names, as rules.yaml's conditions read them."""
        return Context(self.msg, self.mailbox, self.at, self.ruleset).named_municipalities

    @cached_property
    def duplicate_of(self) -> int | None:
        """An earlier message that is this one again (see ``store.messages``)."""
        if self.stage.db is None:
            return None
        return stored.duplicate_of(
            self.stage.db,
            self.arrival.row_id,
            self.arrival.sha256,
            self.msg.message_id,
            self.msg.from_addr,
            self.raw or b"",
        )

    @cached_property
    def is_admin(self) -> bool:
        return self.msg.from_addr in participants.admin_addresses(self.ruleset)

    @cached_property
    def case_lookup(self) -> tuple[CaseMatch | None, str | None]:
        """The case the message belongs to, and a reference it names that does not exist."""
        if self.stage.db is None:
            return None, None
        found = find_case(self.stage.db, self.msg, self.ruleset.reference_prefixes)
        if found == (None, None):  # the last way: a party's own ticket number
            return find_by_ticket(self.stage.db, self.msg, self.ruleset)
        return found

    @property
    def case(self) -> CaseMatch | None:
        return self.case_lookup[0]

    @cached_property
    def side(self) -> str | None:
        """The side of the case the sender writes from (None: not a participant)."""
        if self.case is None or self.stage.db is None:
            return None
        match = self.case
        return participants.sender_side(
            self.stage.db, match.case_id, match.receiving_party, self.msg.from_addr, self.ruleset
        )

    @cached_property
    def recent_replies(self) -> int:
        """Messages from this sender threaded into the case in the last hour."""
        if self.case is None or self.stage.db is None:
            return 0
        since = self.stage.clock() - dt.timedelta(hours=1)
        return loop_count(self.stage.db, self.case.case_id, self.msg.from_addr, since)
