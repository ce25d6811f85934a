"""Built-in chain rule: a sender whose domain failed DMARC at our own mail server."""

from __future__ import annotations

from gateway.decide.facts import Facts
from gateway.rules.dmarc import DmarcFail


class ForgedSender:
    """See `Rule`."""

    name = "forged-sender"
    description = "A sender whose domain failed DMARC is no participant and gives no commands."
    record = True

    def check(self, facts: Facts) -> bool:
        return DmarcFail().check(facts)
