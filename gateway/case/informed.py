"""Copied parties kept informed (issue 19): the side "informed" (informert).

A rule with ``informed: true`` puts the parties it copies (``cc:``) on a side of their
own: they get the relay, every answer in the case and its closing, as information.
They give no commands, and they are not the receiving party: not for the first
answer, deadlines or reminders. Without it a copy is on the receiving side, as before.
"""

from __future__ import annotations

from gateway.models import Decision
from gateway.rules.base import RuleSet

INFORMED = "informed"


def informed_addresses(ruleset: RuleSet, decision: Decision) -> set[str]:
    """The copies of a new case that are only informed: the receivers of the parties
    copied by the matching rules that say ``informed: true``."""
    matched, found = set(decision.rules), set()
    for rule in ruleset.rules:
        if rule.name in matched and rule.actions.informed:
            for key in rule.actions.cc:
                if key in ruleset.directory.parties:
                    found |= {a.lower() for a in ruleset.directory[key].receivers}
    return found
