"""``helpdesk:`` under a party in rules.yaml: the ticket system that answers for it.

A supplier's support address is rarely a person: a helpdesk (Request Tracker, Zendesk,
Jira Service Management, TOPdesk …) answers from a no-reply address or its own domain,
with its own ticket number in the subject, and sends automatic notices. This section
says which addresses speak for the party, which of them must never receive mail, how
its ticket numbers look, and what becomes of its notices. Checked at load, with lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gateway.rules.yaml_lines import Problems
from gateway.rules.yaml_lines import line_of as _line

KEYS = {"addresses", "no_reply", "ticket_reference", "notifications"}
# notice kind -> (allowed settings, default)
NOTICES = {
    "acknowledgement": (("record", "relay"), "record"),
    "solved": (("record", "to-closing"), "record"),
    "survey": (("record",), "record"),
    "status": (("record", "relay"), "record"),
}
# Texts a too-greedy pattern must not match: our own references, dates and times.
_OURS = ("AVVIK-2026-0042", "[AVVIK-2026-0042]", "#AVVIK-2026-0042", "2026-12-03", "03.12.2026",
         "10:15", "#1", "#42", "(42)", "42")  # fmt: skip
_ADDRESS = re.compile(r"^(\*|[^@\s*]+)@[a-z0-9.-]+\.[a-z0-9-]+$")


@dataclass(frozen=True)
class TicketPattern:
    """One way the helpdesk writes its ticket numbers: ``[Tellu #12345]``."""

    name: str  # shown to people: "Tellu" in "Tellu #12345"
    regex: re.Pattern[str]  # exactly one group: the number
    format: str  # how our subjects carry it, with {number}

    def tag(self, number: str) -> str:
        return self.format.format(number=number)


@dataclass(frozen=True)
class Helpdesk:
    """A party's ticket system, checked."""

    addresses: tuple[str, ...] = ()  # exact addresses or *@domain that speak for the party
    no_reply: tuple[str, ...] = ()  # may write into the party's cases, never receive
    tickets: tuple[TicketPattern, ...] = ()
    notices: tuple[tuple[str, str], ...] = ()  # (kind, setting)

    def notice(self, kind: str) -> str:
        return dict(self.notices).get(kind, NOTICES[kind][1])

    def speaks(self, address: str) -> bool:
        """True for an address of the ticket system (not a person's)."""
        address = address.strip().lower()
        domain = "*@" + address.rpartition("@")[2]
        return any(a in (address, domain) for a in (*self.addresses, *self.no_reply))

    def find(self, text: str) -> tuple[TicketPattern, str] | None:
        """The first ticket number in a text, with the pattern that found it."""
        for pattern in self.tickets:
            if found := pattern.regex.search(text):
                return pattern, found.group(1)
        return None


def _addresses(value: Any, where: str, line: int, problems: Problems) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        address = str(v).strip().lower()
        if not _ADDRESS.match(address):
            problems.add(line, f"{where}: {v!r} is not an address or *@domain")
        out.append(address)
    return tuple(out)


def _pattern(spec: Any, where: str, problems: Problems) -> TicketPattern | None:
    """One ``ticket_reference`` entry: name, pattern (one group), optional format."""
    line = _line(spec)
    if not isinstance(spec, dict) or not spec.get("name") or not spec.get("pattern"):
        problems.add(line, f"{where}: each ticket_reference needs a name and a pattern")
        return None
    if unknown := set(spec) - {"name", "pattern", "format"}:
        problems.add(line, f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    try:
        regex = re.compile(str(spec["pattern"]), re.IGNORECASE)
    except re.error as exc:
        problems.add(_line(spec, "pattern"), f"{where}: pattern: {exc}")
        return None
    if regex.groups != 1:
        problems.add(_line(spec, "pattern"), f"{where}: pattern needs exactly one group "
                     f"(the ticket number), it has {regex.groups}")  # fmt: skip
        return None
    if greedy := [t for t in _OURS if regex.search(t)]:
        problems.add(_line(spec, "pattern"), f"{where}: pattern matches too much: it also "
                     f"matches our own references or dates ({greedy[0]!r})")  # fmt: skip
        return None
    name = str(spec["name"])
    shape = str(spec.get("format") or f"[{name} #{{number}}]")
    if "{number}" not in shape:
        problems.add(_line(spec, "format"), f"{where}: format needs {{number}}")
        shape = f"[{name} #{{number}}]"
    elif shape != "{number}" and not regex.search(shape.format(number="123456")):
        problems.add(_line(spec, "format"), f"{where}: the pattern does not find the format")
    return TicketPattern(name, regex, shape)


def _notices(spec: Any, where: str, problems: Problems) -> tuple[tuple[str, str], ...]:
    if spec is None:
        return ()
    if not isinstance(spec, dict):
        problems.add(_line(spec), f"{where}: notifications: expected a mapping")
        return ()
    out = []
    for kind, value in spec.items():
        if kind not in NOTICES:
            problems.add(_line(spec, kind), f"{where}: notifications: unknown kind {kind!r} "
                         f"(known: {', '.join(NOTICES)})")  # fmt: skip
        elif value not in NOTICES[kind][0]:
            problems.add(_line(spec, kind), f"{where}: notifications: {kind}: one of "
                         f"{', '.join(NOTICES[kind][0])}")  # fmt: skip
        else:
            out.append((str(kind), str(value)))
    return tuple(out)


def parse_helpdesk(spec: Any, key: str, receivers: tuple[str, ...], problems: Problems):
    """A party's ``helpdesk:``, checked; None when there is none."""
    if spec is None:
        return None
    where = f"party {key!r} helpdesk"
    if not isinstance(spec, dict):
        problems.add(_line(spec), f"{where}: expected a mapping ({', '.join(sorted(KEYS))})")
        return None
    if unknown := set(spec) - KEYS:
        problems.add(_line(spec), f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    addresses = _addresses(spec.get("addresses", []), f"{where} addresses",
                           _line(spec, "addresses"), problems)  # fmt: skip
    no_reply = _addresses(spec.get("no_reply", []), f"{where} no_reply",
                          _line(spec, "no_reply"), problems)  # fmt: skip
    for address in no_reply:
        if address in receivers:
            problems.add(_line(spec, "no_reply"), f"{where}: {address} is a no-reply address "
                         "and also a receiver of the party")  # fmt: skip
    refs = spec.get("ticket_reference") or []
    refs = refs if isinstance(refs, list) else [refs]
    tickets = tuple(filter(None, (_pattern(r, where, problems) for r in refs)))
    notices = _notices(spec.get("notifications"), where, problems)
    return Helpdesk(addresses, no_reply, tickets, notices)
