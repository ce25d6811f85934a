"""Plain data passed between the stages: intake -> parse -> decide -> case -> render -> outbox."""

from __future__ import annotations

import datetime as dt
import email.message
from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    """What becomes of an incoming message: the plan's outcome, stored as ``outcome``."""

    RELAY = "relay"
    TRIAGE = "triage"
    IGNORE = "ignore"
    THREAD = "thread"  # a reply in an existing case, from someone who takes part in it
    HOLD = "hold"  # a reply in a case from someone who does not: held for the administrators
    DUPLICATE = "duplicate"  # the same message again: dropped, the first one counts
    TOO_LARGE = "too-large"  # over max_message_bytes: quarantined, a known sender is told
    QUARANTINE = "quarantine"  # unreadable (or raw bytes gone): parked for a human
    ADMIN_ANSWER = "admin-answer"  # an administrator's answer to a triage note
    COMMAND = "command"  # the on-call duty's #vurdert, #haster, #gjennomgått
    NOTICE = "notice"  # a party's helpdesk notice: recorded in its case (gateway/helpdesk/)
    OVERVIEW = "overview"  # #oversikt: the sender's open cases, or nothing for an outsider


@dataclass(frozen=True)
class Arrival:
    """What intake recorded of an incoming message, before anything is parsed."""

    row_id: int | None  # None for a file that ``gateway classify`` reads
    mailbox: str | None
    received_at: dt.datetime  # aware, UTC
    size: int
    sha256: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class ParsedMessage:
    """One incoming message, parsed once. Addresses are lower-case."""

    message_id: str
    subject: str
    from_addr: str
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: str
    in_reply_to: str
    references: tuple[str, ...]
    headers: dict[str, tuple[str, ...]]  # lower-case name -> values, in order
    body: str  # the text body, or text made from the HTML body
    new_text: str  # body without quoted text or forwarded blocks
    attachments: tuple[Attachment, ...]
    content_type: str
    defects: tuple[str, ...]
    size: int
    message: email.message.Message = field(repr=False, compare=False)

    def header(self, name: str) -> str:
        """The first value of a header, or '' (names are case-insensitive)."""
        values = self.headers.get(name.lower())
        return values[0] if values else ""


@dataclass(frozen=True)
class Decision:
    """What the rules made of a message, and why: printed by ``gateway classify``."""

    decision: Outcome
    flow: str | None = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    municipality: str | None = None
    kind: str = "avvik"
    urgent: bool = False
    external_ref: str | None = None
    rules: tuple[str, ...] = ()  # names of the rules that matched
    misses: tuple[str, ...] = ()  # names of the rules checked, not matched
    reason: str = ""
    sender_party: str | None = None  # party key of the sender ("municipality:Vennesla")
    receiving_party: str | None = None
    case: str | None = None  # the case's reference, for a reply in a thread
    matched_by: str | None = None  # how the case was found: subject, headers, body, plus-address
    measures_days: int | None = None  # deadlines set by a rule (e.g. cooperation: 10)
    close_days: int | None = None
    escalate_days: int | None = None  # still open this many working days: escalated
    deciding_rule: str | None = None  # the rule of rules.yaml that set the decision
    no_receiver: bool = False  # a relay the rules gave no receiver: triaged instead
    explanation: str = ""  # why, for the administrators, in the deployment's language

    def as_json(self) -> dict:
        return {
            "decision": str(self.decision),
            "flow": self.flow,
            "to": sorted(self.to),
            "cc": sorted(self.cc),
            "municipality": self.municipality,
            "kind": self.kind,
            "urgent": self.urgent,
            "external_ref": self.external_ref,
            "rules": list(self.rules),
            "reason": self.reason,
        } | ({"case": self.case, "matched_by": self.matched_by} if self.case else {})


@dataclass(frozen=True)
class Incoming:
    """A stored incoming message, parsed: what the case stage writes about."""

    row_id: int
    mailbox: str | None
    received_at: dt.datetime  # aware, UTC
    raw: bytes
    parsed: ParsedMessage


@dataclass(frozen=True)
class Outgoing:
    """A rendered message waiting in the outbox."""

    purpose: str  # relay, receipt, triage, alert
    mail_from: str
    recipients: tuple[str, ...]
    raw: bytes
    message_id: str
    subject: str = ""
    case_id: int | None = None
