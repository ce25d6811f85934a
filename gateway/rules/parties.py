"""Parties and their addresses: who a sender is, and who receives for a party.

A sender pattern is an exact address or ``*@domain``. Matching ignores letter case and
is exact on the domain: ``*@vennesla.kommune.example`` matches neither
``x.vennesla.kommune.example`` nor ``vennesla.kommune.example.evil.example``. When
several parties match, an exact address wins over a domain (the response centre's
staff share a domain with all of Kristiansand municipality); two parties matching
equally well is no match at all, so the message goes to triage rather than to a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MUNICIPALITY = "municipality"


@dataclass(frozen=True)
class Party:
    key: str  # "supplier", or "municipality:Vennesla" for one municipality
    name: str  # what people read in relays and the case log
    senders: tuple[str, ...]  # exact addresses or *@domain, lower-case
    receivers: tuple[str, ...]  # who gets what is relayed to this party
    helpdesk: Any = None  # its ticket system, a gateway.rules.helpdesk.Helpdesk (or None)

    @property
    def kind(self) -> str:
        """``municipality`` for every municipality, else the party key."""
        return self.key.split(":", 1)[0]

    @property
    def municipality(self) -> str | None:
        return self.key.split(":", 1)[1] if self.key.startswith(MUNICIPALITY + ":") else None


def split_address(address: str) -> tuple[str, str]:
    local, _, domain = address.strip().lower().rpartition("@")
    return local, domain


class Directory:
    """All parties, indexed for sender look-up."""

    def __init__(self, parties: list[Party]):
        self.parties = {p.key: p for p in parties}
        self._exact: dict[str, list[Party]] = {}
        self._domain: dict[str, list[Party]] = {}
        for party in parties:
            desk = party.helpdesk
            more = (*desk.addresses, *desk.no_reply) if desk else ()
            for pattern in dict.fromkeys((*party.senders, *more)):
                if pattern.startswith("*@"):
                    self._domain.setdefault(pattern[2:], []).append(party)
                else:
                    self._exact.setdefault(pattern, []).append(party)

    def __getitem__(self, key: str) -> Party:
        return self.parties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.parties

    def sender(self, address: str) -> Party | None:
        """The party an address belongs to, or None (unknown, or ambiguous)."""
        address = address.strip().lower()
        local, domain = split_address(address)
        if not local or not domain:
            return None
        for candidates in (self._exact.get(address), self._domain.get(domain)):
            if candidates:
                return candidates[0] if len(candidates) == 1 else None
        return None

    def municipalities(self) -> list[Party]:
        return [p for p in self.parties.values() if p.kind == MUNICIPALITY]

    def municipality(self, name: str) -> Party | None:
        return self.parties.get(f"{MUNICIPALITY}:{name}")

    def is_known_receiver(self, address: str) -> bool:
        address = address.strip().lower()
        return any(address in p.receivers for p in self.parties.values())
