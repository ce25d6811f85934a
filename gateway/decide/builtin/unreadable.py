"""Built-in chain rule: a message that cannot be parsed (or whose bytes are gone)."""

from __future__ import annotations

from gateway.decide.facts import Facts


class Unreadable:
    """See `Rule`."""

    name = "unreadable"
    description = "A message the parser cannot read is quarantined with the reason."
    record = True

    def check(self, facts: Facts) -> bool:
        if facts.unreadable is None:
            return False
        facts.notes.append(facts.unreadable)
        return True
