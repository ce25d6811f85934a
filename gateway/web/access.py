"""Who sees what: the one place that decides it, so every page asks the same question.

- the administrators (the triage party's own addresses) see every case, the triage
  queue, the quarantine and the status, and may read an original text (logged);
- the on-call duty sees every open case's header and new text, and may assess or
  upgrade it;
- management (rules.yaml ``follow_up: management``) sees statistics only, never a
  text, not even as a member of a party;
- a member of a party (an address or domain of that party in rules.yaml, an exact
  address winning over a domain as for senders) sees the cases where that party is on
  the reporting, receiving or informed side, and nothing else: another case answers
  404, as if it did not exist. A party in ``privacy.redact_for`` sees de-identified
  texts only.
An address that rules.yaml does not know is nobody: it gets no sign-in link.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.privacy.policy import known_addresses
from gateway.privacy.redact import redact_text
from gateway.rules.base import RuleSet
from gateway.rules.parties import split_address
from gateway.store.caselog import CaseRow
from gateway.store.states import CaseStatus

# Events that are for the administrators and the case's parties only.
CONFIDENTIAL_EVENTS = frozenset({"review-done"})
# Who looked at a case, and what they downloaded: on record in the case log (``gateway
# cases show``), but not the case's history. Shown on the page, every view would add a
# line to the next one, and a case read often would grow without end.
ACCESS_EVENTS = frozenset({"web-case-viewed", "web-download"})


@dataclass(frozen=True)
class Viewer:
    """A signed-in person and what they may do."""

    address: str
    admin: bool = False
    on_call: bool = False
    management: bool = False
    parties: frozenset[str] = frozenset()  # party keys they are a member of
    redacted: bool = False  # a party in redact_for: de-identified texts only

    @property
    def sees_cases(self) -> bool:
        return self.admin or self.on_call or bool(self.parties)

    @property
    def sees_stats(self) -> bool:
        return self.admin or self.management


def _own(ruleset: RuleSet, key: str | None) -> set[str]:
    """A party's exact addresses (senders and receivers), not its domains."""
    if not key or key not in ruleset.directory:
        return set()
    party = ruleset.directory[key]
    return {a.lower() for a in (*party.senders, *party.receivers) if not a.startswith("*@")}


def member_of(ruleset: RuleSet, address: str) -> frozenset[str]:
    """The parties an address belongs to: exact matches, else domain matches."""
    _local, domain = split_address(address)
    exact, by_domain = set(), set()
    for party in ruleset.directory.parties.values():
        if address in _own(ruleset, party.key):
            exact.add(party.key)
        elif f"*@{domain}" in party.senders:
            by_domain.add(party.key)
    return frozenset(exact or by_domain)


def viewer_for(ruleset: RuleSet, address: str) -> Viewer | None:
    """The viewer an address is, or None when rules.yaml does not know it."""
    address = address.strip().lower()
    if not address or "@" not in address:
        return None
    admin = address in _own(ruleset, ruleset.triage_party)
    on_call = address in _own(ruleset, ruleset.follow_up.on_call)
    management = address in {a.lower() for a in ruleset.follow_up.management}
    # The administrators' and on-call parties are roles, not sides of a case; management
    # sees figures only, whatever party its addresses also receive for.
    roles = {ruleset.triage_party, ruleset.follow_up.on_call}
    parties = frozenset() if management else member_of(ruleset, address) - roles
    if not (admin or on_call or management or parties):
        return None
    redacted = not admin and bool(parties & ruleset.privacy.redact_for)
    return Viewer(address, admin, on_call, management, parties, redacted)


@dataclass(frozen=True)
class Scope:
    """Which cases a case query may return: all, open ones, or those of some parties."""

    everything: bool = False
    open_only: bool = False
    parties: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()  # the parties' receivers: the informed side (copies)


def scope_of(ruleset: RuleSet, viewer: Viewer) -> Scope | None:
    """The cases a viewer may see; None: no cases at all (management)."""
    if viewer.admin:
        return Scope(everything=True)
    if viewer.parties:
        keys = tuple(sorted(viewer.parties))
        receivers = sorted({a for k in keys for a in ruleset.directory[k].receivers})
        return Scope(parties=keys, addresses=tuple(receivers), open_only=False)
    if viewer.on_call:
        return Scope(everything=True, open_only=True)
    return None


def may_see(ruleset: RuleSet, viewer: Viewer, case: CaseRow, informed: bool) -> bool:
    """Whether a viewer may open a case; ``informed``: a party of theirs got a copy."""
    if viewer.admin:
        return True
    if viewer.parties and (
        {case.reporting_party, case.receiving_party} & viewer.parties or informed
    ):
        return True
    return viewer.on_call and case.status != CaseStatus.CLOSED


def is_party_of(viewer: Viewer, case: CaseRow, informed: bool) -> bool:
    """A party of the case: may read its confidential events (review summaries)."""
    return viewer.admin or bool(
        {case.reporting_party, case.receiving_party} & viewer.parties or informed
    )


def shown_text(ruleset: RuleSet, viewer: Viewer, text: str | None) -> str:
    """A text as this viewer may read it: de-identified for a party in redact_for (the
    case log may keep originals: ``keep_original``)."""
    if not text or not viewer.redacted:
        return text or ""
    policy = ruleset.privacy
    return redact_text(
        text,
        known_addresses=known_addresses(ruleset),
        phones=policy.phone_numbers,
        emails=policy.email_addresses,
        language=ruleset.language,
    )[0]
