"""The contract of a rule, the loaded rule set, and the per-message context rules read.

Modelled on GNU Mailman 3's rules: each rule is a small object with a name, a one-line
description and ``check()``; the decision loop (gateway/decide.py) records which rules
matched, so an administrator can always see why a message went where it went.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Protocol

from gateway.hours import ServiceHours
from gateway.models import Outcome, ParsedMessage
from gateway.rules.automatic import AutomaticMail
from gateway.rules.follow_up import FollowUp
from gateway.rules.parties import Directory, Party
from gateway.rules.record import RecordRules
from gateway.rules.topics import MUNICIPALITIES, Topics
from gateway.rules.topics import found as topics_found
from gateway.text import fold, without_disclaimer


class Rule(Protocol):
    """A named test of a message.

    :param name: unique, kebab-case; shown in ``gateway classify`` and the case log.
    :param description: one line saying what the rule is for.
    :param record: whether a hit is recorded with the message (False for helpers).
    """

    name: str
    description: str
    record: bool

    def check(self, ctx: Context) -> bool:
        """True when the rule matches; on a hit it may append a reason to ``ctx.notes``."""
        ...


@dataclass(frozen=True)
class Actions:
    """What a YAML rule does when it matches; None leaves a field as it is."""

    decision: str | None = None
    flow: str | None = None
    to: tuple[str, ...] = ()  # party keys, or "municipality" for the case's municipality
    cc: tuple[str, ...] = ()
    kind: str | None = None
    urgent: bool | None = None
    municipality: str | None = None  # "sender" or "named"
    reason: str | None = None
    measures_days: int | None = None  # deadlines in working days, instead of deadlines:
    close_days: int | None = None
    escalate_days: int | None = None  # still open after this: escalated (follow_up)
    stop: bool = False
    informed: bool = False  # the parties of cc: are only informed (gateway/case/informed.py)


@dataclass(frozen=True)
class PrivacyPolicy:
    """rules.yaml ``privacy:``: who gets de-identified relays, and how long texts are kept."""

    redact_for: frozenset[str] = frozenset()  # party keys
    phone_numbers: bool = True
    email_addresses: bool = True
    keep_original: bool = False  # the case log keeps only the de-identified text
    retention_days: int = 365  # after closing (or arrival, outside a case), texts are purged
    unreadable_attachments: str = "hold"  # or "relay": attachments not read completely
    # a confidential reporter (#konfidensiell): who may read who reported (party keys or
    # addresses), and what everyone else reads instead ("": the language's phrase)
    confidential_readers: tuple[str, ...] = ()
    confidential_label: str = ""


@dataclass(frozen=True)
class RuleSet:
    """A rules.yaml, checked and compiled once at load."""

    path: Path
    directory: Directory
    mailboxes: dict[str, str]  # mailbox name -> intake address
    hours: ServiceHours
    reference_prefix: str
    triage_party: str
    vocabulary: dict[str, re.Pattern[str]]
    external_refs: tuple[re.Pattern[str], ...]
    rules: tuple  # YamlRule objects, in order
    municipality_names: tuple[str, ...]
    # names with a municipality's name in them that name none (municipalities: not_targets)
    not_targets: tuple[str, ...] = ()
    automatic: AutomaticMail = field(default_factory=AutomaticMail)  # automatic_mail:
    # flow (None: default) -> working days to the deadlines (tiltaksfrist, lukkefrist)
    deadlines: dict = field(default_factory=lambda: {None: (10, 20)})
    closed_cases: str = "reopen"  # or "new-case": a message in a closed case opens a new one
    privacy: PrivacyPolicy = field(default_factory=PrivacyPolicy)
    follow_up: FollowUp = field(default_factory=FollowUp)
    language: str = "nb"  # the language of every word the deployment's mail carries
    flows: dict = field(default_factory=dict)  # flow name -> its declaration (rules.yaml)
    record: RecordRules = field(default_factory=RecordRules)  # record: (cause, closing)
    # the gateway's own addresses (settings.gateway_address): not in rules.yaml, but never
    # personal data either; StageContext adds them (see privacy.policy.known_addresses)
    own_addresses: tuple[str, ...] = ()
    # an improvement suggestion's references (FORSLAG-2026-0007): a series of its own
    suggestion_prefix: str = "FORSLAG"

    @property
    def reference_prefixes(self) -> tuple[str, str]:
        """Every prefix a reference of this deployment can have, to find it in a reply."""
        return (self.reference_prefix, self.suggestion_prefix)

    topics: Topics = field(default_factory=dict)  # topics: set -> group -> words

    def deadline_days(self, flow: str | None) -> tuple[int, int]:
        return self.deadlines.get(flow, self.deadlines[None])

    def mailbox_for(self, address: str) -> str | None:
        """The mailbox name an intake address belongs to (plus-addressing allowed)."""
        local, _, domain = address.strip().lower().rpartition("@")
        local = local.split("+", 1)[0]
        for name, addr in self.mailboxes.items():
            if addr == f"{local}@{domain}":
                return name
        return None


@dataclass
class Draft:
    """The decision while the rules of rules.yaml run over a message: the loop alone
    writes it, conditions read it (``flow: a``), and ``decide()`` returns it frozen as a
    ``Decision``."""

    decision: Outcome | None = None
    flow: str | None = None
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    municipality: str | None = None
    kind: str = "avvik"
    urgent: bool = False
    receiving_party: str | None = None
    measures_days: int | None = None
    close_days: int | None = None
    escalate_days: int | None = None


@dataclass
class Context:
    """One message being decided: the facts rules read (computed once), the draft
    decision, and what the rules noted on a hit (reasons, built-in rules that matched)."""

    msg: ParsedMessage
    mailbox: str | None
    at: dt.datetime
    ruleset: RuleSet
    draft: Draft = field(default_factory=Draft)
    notes: list[str] = field(default_factory=list)
    hits: list[str] = field(default_factory=list)  # built-in rules that matched, in order
    _folds: dict[str, str] = field(default_factory=dict, repr=False)
    _topics: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def folded(self, where: str) -> str:
        """The subject, new body text or both ("subject", "body", "text") case-folded,
        once per message: word conditions look there before they run their regex."""
        if where not in self._folds:
            text = {"subject": self.msg.subject, "body": self.body}.get(where)
            self._folds[where] = fold(self.text if text is None else text)
        return self._folds[where]

    @cached_property
    def sender(self) -> Party | None:
        return self.ruleset.directory.sender(self.msg.from_addr)

    @cached_property
    def body(self) -> str:
        """The new body text as a person reads it: without a standard disclaimer."""
        return without_disclaimer(self.msg.new_text)

    @cached_property
    def text(self) -> str:
        """Subject and new body text: where rules look for words."""
        return f"{self.msg.subject}\n{self.body}"

    @cached_property
    def in_service_hours(self) -> bool:
        return self.ruleset.hours.is_open(self.at)

    def topic(self, name: str) -> list[str]:
        """The groups of topic set ``name`` the message names, once per message: the
        subject decides when it names any, otherwise the new body text without the
        sender's signature (gateway/rules/topics.py)."""
        if name not in self._topics:
            rs = self.ruleset
            self._topics[name] = topics_found(rs.topics, name, self.msg.subject, self.body,
                                              rs.municipality_names, rs.not_targets)  # fmt: skip
        return self._topics[name]

    @property
    def named_municipalities(self) -> list[str]:
        """Municipalities the message names (the set ``municipalities``). A name that
        only contains one ("Sykehuset i Arendal") names none."""
        return self.topic(MUNICIPALITIES)
