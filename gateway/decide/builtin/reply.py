"""Built-in chain rules: a message that belongs to a case (by reference, headers, body).

A reply from a participant is threaded to the other side; from anyone else it is held;
a reference to a case that does not exist is triaged; a message in a closed case opens
a new one when rules.yaml says ``closed_cases: new-case``.
"""

from __future__ import annotations

from gateway.decide.facts import Facts


class UnknownReference:
    """See `Rule`."""

    name = "unknown-reference"
    description = "A message naming a case reference the case log does not have is triaged."
    record = True

    def check(self, facts: Facts) -> bool:
        match, missing = facts.case_lookup
        if match is not None or missing is None:
            return False
        facts.notes.append(f"The message names {missing}, which is not in the case log.")
        return True


class ClosedCaseNew:
    """See `Rule`."""

    name = "closed-case-new"
    description = "A message in a closed case opens a new case that refers to it (new-case)."
    record = True

    def check(self, facts: Facts) -> bool:
        match = facts.case
        return bool(match and match.status == "lukket" and facts.ruleset.closed_cases == "new-case")


class OutsiderReply:
    """See `Rule`."""

    name = "outsider-reply"
    description = "A reply in a case from someone who does not take part in it is held."
    record = True

    def check(self, facts: Facts) -> bool:
        match = facts.case
        if match is None or facts.side is not None or facts.is_admin:
            return False
        facts.notes.append(
            f"A reply in {match.reference} (found by {match.matched_by}) from "
            f"{facts.msg.from_addr or 'no sender'}, who does not take part in the case."
        )
        return True


class LoopBrake:
    """See `Rule`."""

    name = "loop-brake"
    description = "Too many messages from one address into one case in an hour are held."
    record = True

    def check(self, facts: Facts) -> bool:
        match, limit = facts.case, facts.stage.settings.loop_limit_per_hour
        if match is None or facts.recent_replies < limit:
            return False
        facts.notes.append(
            f"Loop brake: {facts.msg.from_addr} has written {facts.recent_replies} messages "
            f"into {match.reference} in the last hour (limit {limit}); held."
        )
        return True


class ReplyInCase:
    """See `Rule`."""

    name = "reply-in-case"
    description = "A reply in a case from a participant is relayed to the other side."
    record = True

    def check(self, facts: Facts) -> bool:
        match = facts.case
        if match is None:
            return False
        facts.notes.append(
            f"A reply in {match.reference} (found by {match.matched_by}) "
            f"from the {facts.side or 'admin'} side."
        )
        return True


class RulesYaml:
    """See `Rule`."""

    name = "rules-yaml"
    description = "Everything else is decided by the rules of rules.yaml."
    record = False

    def check(self, facts: Facts) -> bool:
        return True
