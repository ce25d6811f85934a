"""Built-in chain rule: what rules.yaml ignores (automatic mail) is never answered or threaded."""

from __future__ import annotations

from gateway.decide.builtin.helpdesk import helpdesk_answer
from gateway.decide.facts import Facts
from gateway.models import Outcome


class IgnoredByRules:
    """See `Rule`."""

    name = "ignored-by-rules"
    description = "Mail rules.yaml ignores (automatic replies, bounces, our own) goes no further."
    record = True

    def check(self, facts: Facts) -> bool:
        return facts.decision.decision is Outcome.IGNORE and not helpdesk_answer(facts)
