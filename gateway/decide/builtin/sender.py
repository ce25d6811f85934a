"""Built-in chain rule: a From that parsers can read as different senders."""

from __future__ import annotations

from gateway.decide.facts import Facts
from gateway.from_header import AMBIGUOUS


class AmbiguousSender:
    """See `Rule`."""

    name = "ambiguous-sender"
    description = "A From in obsolete or odd syntax, read differently by parsers, is triaged."
    record = True

    def check(self, facts: Facts) -> bool:
        if AMBIGUOUS not in facts.msg.defects:
            return False
        facts.notes.append("the From field can be read as more than one sender")
        return True
